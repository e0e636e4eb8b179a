"""One captioner training run: its state (saved and resumed as one), the loss of a batch, the validation pass.

The decoder learns from annotations; where they come from is the caller's ``features`` (a frozen
encoder's cache, or fine-tuned upper blocks on cached lower activations: train.caption.finetune).
"""
from pathlib import Path

import torch
import torch.nn.functional as F

from model.caption.decode import beam_search, greedy
from model.caption.decoder import Captioner, CaptionerConfig, MovingBaseline, doubly_stochastic, reinforce_loss
from model.caption.encoder import Encoder, EncoderTop, Preprocessing
from model.core.checkpoint import Checkpoint, load_checkpoint, load_weights
from model.core.vocab import Vocab
from train.caption.data import MAX_TOKENS
from train.caption.metrics import caption_scores

DATA_NOTE = ("Flickr8k (Hodosh et al. 2013), official 6,000/1,000/1,000 split; research use only, "
             "the images belong to their Flickr owners")


class Run:
    """Everything a training run holds, so it can be saved and resumed as one."""

    def __init__(self, args, vocab: Vocab, pre: Preprocessing, device):
        self.args, self.vocab, self.pre, self.device = args, vocab, pre, device
        self.config = CaptionerConfig(vocab_size=len(vocab), feature_dim=pre.feature_dim,
                                      attention=args.attention, hidden_dim=args.hidden,
                                      embed_dim=args.embed, attn_dim=args.attn_dim, score=args.score,
                                      finetune_from=args.finetune_from)
        torch.manual_seed(args.seed)
        self.model = Captioner(self.config, pre).to(device)
        groups = [{"params": [p for n, p in self.model.named_parameters() if not n.startswith("top.")],
                   "base_lr": args.lr}]
        if self.model.top is not None:  # the package's ImageNet weights to start from, trained more gently
            self.model.top.load_state_dict(EncoderTop(Encoder(pre), args.finetune_from).state_dict())
            self.model.top.requires_grad_(True)
            groups.append({"params": list(self.model.top.parameters()), "base_lr": args.encoder_lr})
        self.optim = torch.optim.Adam(groups, lr=args.lr)
        self.baseline = MovingBaseline()
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.start_epoch = 0  # the epoch this run began at (after --init), so --epochs counts this run's
        self.best, self.bad_epochs, self.history = -1.0, 0, []
        self.ddp = None  # the DistributedDataParallel wrapper under torchrun
        self.word_counts: list[int] = []  # training captions holding each vocabulary word (the page shows them)

    def checkpoint(self, metrics: dict, with_optim: bool) -> Checkpoint:
        extra = {"epoch": self.epoch, "start_epoch": self.start_epoch, "step_in_epoch": self.step_in_epoch,
                 "global_step": self.global_step,
                 "best": self.best, "bad_epochs": self.bad_epochs, "baseline": self.baseline.value,
                 "history": self.history, "args": vars(self.args)}
        if with_optim:
            extra["optim"] = self.optim.state_dict()
        return Checkpoint(kind="captioner", config=self.config, state_dict=self.model.state_dict(),
                          vocab={"words": self.vocab.itos}, preprocessing=self.pre.to_dict(),
                          data={"dataset": DATA_NOTE, "train": "6,000 images × 5 captions",
                                "tokenizer": f"lower case, [a-z0-9] words, min count {self.args.min_count}, "
                                             f"at most {MAX_TOKENS} tokens",
                                "word_counts": self.word_counts},
                          metrics=metrics, extra=extra)

    def resume(self, path: Path):
        ck = load_checkpoint(path, kind="captioner", map_location=self.device)
        load_weights(self.model, ck)
        e = ck.extra
        if "optim" in e:
            self.optim.load_state_dict(e["optim"])
        self.epoch, self.step_in_epoch, self.global_step = e["epoch"], e["step_in_epoch"], e["global_step"]
        self.start_epoch = e.get("start_epoch", 0)
        self.best, self.bad_epochs, self.history = e["best"], e["bad_epochs"], e["history"]
        self.baseline = MovingBaseline(value=e["baseline"])
        self.baseline.started = self.global_step > 0


def loss_on_batch(run: Run, ann, ids, generator):
    a = run.args
    model = run.ddp or run.model
    logits, alphas, _, loc_lp = model(ann, ids, generator=generator, semi_sampling=a.semi_sampling)
    targets = ids[:, 1:]
    mask = (targets != run.vocab.pad).float()
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=run.vocab.pad, reduction="none")
    tokens = mask.sum()
    loss = nll.sum() / tokens + a.alpha_c * doubly_stochastic(alphas, mask).mean() / alphas.size(-1)
    parts = {"nll": (nll.sum() / tokens).item()}
    if run.config.attention == "hard":
        reward = -nll.sum(1)  # log p(y | s, a): the caption's log-likelihood under the sampled locations
        b = run.baseline.value if run.baseline.started else reward.detach().mean().item()
        rl = reinforce_loss(loc_lp, reward, b, probs=alphas, mask=mask, entropy_weight=a.entropy)
        loss = loss + a.reinforce * rl / (tokens / ids.size(0))  # per token, like the NLL
        run.baseline.update(reward)
        parts["baseline"] = run.baseline.value
    return loss, parts


@torch.no_grad()
def validate(run: Run, features, names: list[str], captions, beam: int = 1, location: str = "expected",
             batch: int = 100) -> dict:
    """Validation scores; ``features(names)`` gives their (B, N, D) annotations on the run's device."""
    run.model.eval()
    hyps = {}
    for i in range(0, len(names), batch):
        chunk = names[i:i + batch]
        ann = features(chunk)
        if beam == 1:
            decoded = greedy(run.model, ann, run.vocab.start, run.vocab.end, location=location)
        else:
            decoded = [beam_search(run.model, ann[j:j + 1], run.vocab.start, run.vocab.end, beam=beam,
                                   location=location)
                       for j in range(len(chunk))]
        for n, d in zip(chunk, decoded):
            hyps[n] = " ".join(run.vocab.decode(d.tokens))
    run.model.train()
    scores = caption_scores({n: captions[n] for n in names}, hyps, meteor=False)
    scores["example"] = hyps[names[0]]
    return scores
