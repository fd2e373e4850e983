"""Early stopping: keep the epoch with the lowest validation loss, stop when it stops improving.

    python examples/early_stopping.py            # 50,000 / 10,000 train / validation, up to 30 epochs
    python examples/early_stopping.py --quick    # 3,000 images: seconds

The training set is split into training and validation images (`random_split`, notes 002).
After each epoch the validation loss is measured; when it is the lowest so far, the model's
`state_dict()` is written with `tinygrad_edu.save` (a checkpoint). When it has not improved for
`--patience` epochs in a row, training stops and the best checkpoint is restored with
`load_state_dict(tinygrad_edu.load(...))`: the model that is kept is the one of the best epoch,
not the last, over-fitted one. The learning rate is constant (Adam 1e-3): a cosine schedule
needs to know the number of epochs in advance, which early stopping decides on the way.
The test accuracy is printed at every epoch only to show that the restored model is exactly the
best epoch's; the choice uses the validation set alone. The validation accuracy may still creep
up while the loss rises (the model grows over-confident on the images it gets wrong): the loss
is the usual thing to watch (Keras' EarlyStopping monitors val_loss by default).
"""
from __future__ import annotations

import argparse
import os

import tinygrad_edu as torch
from tinygrad_edu import optim
from tinygrad_edu.utils.data import random_split

from _extras import add_example_args, parser, run_dir, new_plot, save_plot
from train_mnist import add_data_args, evaluate, fit, MLP, mnist


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True)
    add_example_args(p, plot=f"{run_dir('early_stopping')}/early_stopping.png")
    p.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    p.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a lower validation loss")
    p.add_argument("--val-fraction", type=float, default=1 / 6, help="of the training images, for validation")
    p.add_argument("--checkpoint", default=f"{run_dir('early_stopping')}/best.ckpt", help="where the best model is saved")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 15)
        args.limit_train, args.limit_test, args.val_fraction = args.limit_train or 3000, args.limit_test or 1000, 0.2
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    data = mnist(args.data_dir, train=True, limit=args.limit_train)
    n_val = round(len(data) * args.val_fraction)
    train_set, val_set = random_split(data, [len(data) - n_val, n_val], generator=torch.Generator().manual_seed(args.seed))
    test_set = mnist(args.data_dir, train=False, limit=args.limit_test)
    print(f"{len(train_set)} training, {len(val_set)} validation, {len(test_set)} test images; "
          f"at most {args.epochs} epochs, patience {args.patience}")

    torch.manual_seed(args.seed)
    model = MLP()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
    history = {"train_loss": [], "val_loss": [], "val_acc": [], "test_acc": []}
    best_epoch, best_loss, waited = 0, float("inf"), 0
    print(f"{'epoch':>5}  {'train loss':>10}  {'val loss':>8}  {'val acc':>7}  {'test acc':>8}")
    for epoch in range(1, args.epochs + 1):
        train_loss = fit(model, train_set, optimizer, 1, seed=args.seed * 1000 + epoch, cosine=False)[0]
        val_loss, val_acc = evaluate(model, val_set)
        test_acc = evaluate(model, test_set)[1]
        for key, value in zip(history, (train_loss, val_loss, val_acc, test_acc)):
            history[key].append(value)
        note = ""
        if val_loss < best_loss:
            best_epoch, best_loss, waited = epoch, val_loss, 0
            torch.save(model.state_dict(), args.checkpoint)
            note = f"  best so far: saved to {args.checkpoint}"
        else:
            waited += 1
            note = f"  no improvement for {waited} epoch(s)"
        print(f"{epoch:>5}  {train_loss:>10.4f}  {val_loss:>8.4f}  {val_acc:>6.2f}%  {test_acc:>7.2f}%{note}", flush=True)
        if waited >= args.patience:
            print(f"early stop after epoch {epoch}: validation loss has not improved for {args.patience} epochs")
            break
    else:
        print(f"no early stop within {args.epochs} epochs")

    model.load_state_dict(torch.load(args.checkpoint))
    restored_val_loss, restored_acc = evaluate(model, val_set)[0], evaluate(model, test_set)[1]
    print(f"restored epoch {best_epoch} from {args.checkpoint}: validation loss {restored_val_loss:.4f}, "
          f"test accuracy {restored_acc:.2f}% (epoch {best_epoch} had {best_loss:.4f} and "
          f"{history['test_acc'][best_epoch - 1]:.2f}%; the last epoch {history['test_acc'][-1]:.2f}%)")

    if args.plot:
        from tinygrad_edu.viz import plot_history
        fig = plot_history(history, title=f"early stopping: epoch {best_epoch} restored")
        for ax in fig.axes:
            ax.axvline(best_epoch, color="grey", ls="--", lw=1)
        save_plot(fig, args.plot)
    return {"history": history, "best_epoch": best_epoch, "restored_test_acc": restored_acc}


if __name__ == "__main__":
    main()
