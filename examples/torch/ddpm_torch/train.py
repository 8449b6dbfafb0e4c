"""One training step, as src/diffusion/trainer.ts trainStep takes it: the loss on a batch, its
gradients (averaged over processes by DistributedDataParallel when `net` is wrapped), clipping,
the learning rate's warm-up and schedule, Adam and the EMA."""

from .diffusion import min_snr_weights, q_sample, training_target
from .optim import clip_grad_norm, scheduled_lr


def train_step(net, params, adam, ema, schedule, config, x0, t, noise, step):
    """trainer.ts stepOn: x_t from (x0, t, noise), mean squared error against the prediction's
    target (min-SNR weighted when train.minSnrGamma > 0), backward, clip (train.gradClip > 0),
    lr ← schedule(step), Adam, EMA. Returns the loss of this process's part of the batch (a tensor)."""
    train, prediction = config["train"], config["diffusion"]["prediction"]
    xt = q_sample(schedule, x0, t, noise)
    target = training_target(prediction, schedule, x0, noise, t)
    d = net(xt, t) - target
    gamma = train["minSnrGamma"]
    loss = (d * d * min_snr_weights(prediction, schedule, t, gamma, x0)).mean() if gamma > 0 else (d * d).mean()
    adam.zero_grad()
    loss.backward()
    if train["gradClip"] > 0:
        clip_grad_norm(params, train["gradClip"])
    adam.lr = scheduled_lr(train["lr"], step, train["warmupSteps"], train["steps"], train["lrSchedule"])
    adam.step()
    ema.update()
    return loss.detach()
