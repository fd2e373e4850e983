/*
 * tg_each_type.h -- compile a kernel file's typed body once for float, once for double
 * (private, never read by cffi).
 *
 * Each kernel file is written once in terms of an element type T, then includes itself
 * once per type (the C stand-in for a template). Its first pass ends with
 *
 *     #define TG_SOFTMAX_BODY            (the file's own guard: now the body is compiled)
 *     #define TG_BODY_FILE "softmax.c"
 *     #include "tg_each_type.h"
 *
 * and the body sees, for float then for double:
 *     T               float / double
 *     SFX(name)       name##_f32 / name##_f64 (the public names in tinygrad_edu.h)
 *     LOG, SQRT       logf, sqrtf / log, sqrt (libm's function for T)
 *
 * No include guard: each .c file includes this once, in its own translation unit.
 */
#define T float
#define SFX(name) name##_f32
#define LOG logf
#define SQRT sqrtf
#include TG_BODY_FILE
#undef T
#undef SFX
#undef LOG
#undef SQRT

#define T double
#define SFX(name) name##_f64
#define LOG log
#define SQRT sqrt
#include TG_BODY_FILE
#undef T
#undef SFX
#undef LOG
#undef SQRT

#undef TG_BODY_FILE
