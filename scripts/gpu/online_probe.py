"""Online adaptation probes on the torch mirror (CPU, one thread, ~0.1-0.3 s a step for tiny).

Adapts the shipped tiny weights (training/gpu/tiny-pass2.json) to haze with batches of 4 crops of 128 px
from the training photos (cover-resized to 384x256, as scripts/experiment-online.ts), and reports the PSNR
change on the five validation photos at 480x272 (strength 1 and 0 alternately, as ValidationSet 'edges')
for haze and the four shipped tasks. Much faster than the TypeScript experiment, for choosing what to
build; the generators are the torch ports (degrade_torch.py), whose haze is not matched to haze.ts, so
the TypeScript experiment (`npm run experiment:online`) is the reference. Results: docs/online-learning.md.

  python scripts/gpu/online_probe.py --steps 300 --replay distill            # shipped-output targets
  python scripts/gpu/online_probe.py --steps 300 --replay synth              # clean targets
  python scripts/gpu/online_probe.py --steps 300 --replay none               # plain fine-tuning
Other knobs: --lr, --batch, --review, --subset (all|affine|fullres|nobody|none), --l2sp, --ewc, --agem 1|2,
--ema, --lam (weight of the review loss), --mem N (fixed memory of N crops per task), --replay-crop,
--clean-replay (clean crops as a fifth review domain), --adapter H (a global colour adapter), --save FILE.
"""
import argparse, json, math, sys, time, copy
import os
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import torch
import torch.nn.functional as F
import degrade_torch as dg
from simpleir_torch import SimpleIR, PRESETS, per_sample_loss

ap = argparse.ArgumentParser()
ap.add_argument('--steps', type=int, default=300)
ap.add_argument('--lr', type=float, default=1e-4)
ap.add_argument('--batch', type=int, default=4)
ap.add_argument('--review', type=float, default=0.5)
ap.add_argument('--replay', default='synth', help='synth | none | distill | synth+distill')
ap.add_argument('--subset', default='all', help='all | affine | fullres | nobody')
ap.add_argument('--l2sp', type=float, default=0.0)
ap.add_argument('--opt', default='adam')
ap.add_argument('--crop', type=int, default=128)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--eval-every', type=int, default=0)
ap.add_argument('--seed', type=int, default=7)
ap.add_argument('--tag', default='')
ap.add_argument('--replay-crop', type=int, default=0)
ap.add_argument('--nrev', type=int, default=-1)
ap.add_argument('--mem', type=int, default=0)
ap.add_argument('--ema', type=float, default=0.0)
ap.add_argument('--adapter', type=int, default=0)
ap.add_argument('--lam', type=float, default=1.0)
ap.add_argument('--agem', type=int, default=0)
ap.add_argument('--save', default='')
ap.add_argument('--clean-replay', action='store_true')
ap.add_argument('--ewc', type=float, default=0.0)
ap.add_argument('--domain', default='haze', help='the new domain: haze | storm (rain at 40-65 degrees in saturated colours)')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

def cover(p, w, h):
    x = p.float().div(255).unsqueeze(0)
    _, _, ph, pw = x.shape
    s = max(w / pw, h / ph)
    nh, nw = max(h, round(ph * s)), max(w, round(pw * s))
    x = F.interpolate(x, size=(nh, nw), mode='bilinear', align_corners=False, antialias=True)
    y0, x0 = (nh - h) // 2, (nw - w) // 2
    return x[:, :, y0:y0 + h, x0:x0 + w].clamp(0, 1)

ROOT = os.path.join(REPO, '.cache', 'photos')
train = [cover(p, 384, 256) for p in dg.load_photos(ROOT, 'train')]
valf = [cover(p, 480, 272) for p in dg.load_photos(ROOT, 'val')]
TASKS = [a.domain, 'rain', 'snow', 'lowlight', 'blur']
OLD = TASKS[1:]
REPLAY = OLD + (['clean'] if '--clean-replay' in sys.argv else [])
val = {}
for ti, t in enumerate(TASKS):
    g = torch.Generator().manual_seed(9_000_000 + 1000 * ti)
    val[t] = [(dg.degrade(t, c, torch.tensor([1.0 if i % 2 == 0 else 0.0]), g), c) for i, c in enumerate(valf)]

def psnr(a, b):
    return 10 * math.log10(1 / max(float(((a - b) ** 2).mean()), 1e-12))

@torch.no_grad()
def evaluate(m):
    out = {}
    for t, cases in val.items():
        out[t] = sum(psnr(m(d, clip=True), c) for d, c in cases) / len(cases)
    return out

class Adapter(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.l1 = torch.nn.Linear(9, hidden)
        self.l2 = torch.nn.Linear(hidden, 6)
        torch.nn.init.zeros_(self.l2.weight); torch.nn.init.zeros_(self.l2.bias)
    def forward(self, x, y):
        mu = x.mean(dim=(2, 3)); sd = x.std(dim=(2, 3))
        mn = x.amin(dim=1); mx = x.amax(dim=1)
        f = torch.cat([mu, sd, mn.mean(dim=(1, 2)).unsqueeze(1), mn.std(dim=(1, 2)).unsqueeze(1), mx.mean(dim=(1, 2)).unsqueeze(1)], 1)
        o = self.l2(torch.relu(self.l1(f)))
        g, b = o[:, :3, None, None], o[:, 3:, None, None]
        return y * (1 + g) + b

class Wrapped(torch.nn.Module):
    def __init__(self, net, ad):
        super().__init__(); self.net = net; self.ad = ad; self.names = net.names
    def p(self, n): return self.net.p(n)
    def forward(self, x, clip=False):
        y = self.net(x, clip=False)
        if self.ad is not None: y = self.ad(x, y)
        return y.clamp(0, 1) if clip else y

w = json.load(open(os.path.join(REPO, 'training', 'gpu', 'tiny-pass2.json')))['weights']
model = SimpleIR(PRESETS['tiny'])
model.load_ts_weights(w)
shipped = copy.deepcopy(model).eval()
model = Wrapped(model, Adapter(a.adapter) if a.adapter else None)
for p in shipped.parameters():
    p.requires_grad_(False)
base = evaluate(model)
print('shipped', {k: round(v, 2) for k, v in base.items()}, 'degraded', {t: round(sum(psnr(d, c) for d, c in cases) / len(cases), 2) for t, cases in val.items()}, flush=True)

def trainable(name):
    if a.subset == 'all':
        return True
    if a.subset == 'affine':
        return name.endswith('.b') or '.ln' in name or name.endswith('beta') or name.endswith('gamma') or 'alpha' in name or name.startswith('ldam')
    if a.subset == 'fullres':
        return name.startswith('ldam') or name.startswith('tail')
    if a.subset == 'none':
        return False
    if a.subset == 'nobody':
        return not name.startswith('hab') and not name.startswith('fib')
    raise ValueError(a.subset)

params = [model.p(n) for n in model.names if trainable(n)] + (list(model.ad.parameters()) if a.adapter else [])
for n in model.names:
    model.p(n).requires_grad_(trainable(n))
anchor = [p.detach().clone() for p in params]
print('trainable tensors', len(params), 'of', len(model.names), 'elements', sum(p.numel() for p in params), flush=True)
opt = torch.optim.Adam(params, lr=a.lr) if a.opt == 'adam' else torch.optim.SGD(params, lr=a.lr, momentum=0.9)
gen = torch.Generator().manual_seed(a.seed)

def crop_of(frame, c):
    _, _, h, ww = frame.shape
    y = int(torch.randint(0, h - c + 1, (1,), generator=gen)); x = int(torch.randint(0, ww - c + 1, (1,), generator=gen))
    return frame[:, :, y:y + c, x:x + c]

def pairs(task, n, c=None):
    cl = torch.cat([crop_of(train[int(torch.randint(0, len(train), (1,), generator=gen))], c or a.crop) for _ in range(n)])
    if task == 'clean':
        return cl, cl
    s = torch.rand(n, generator=gen)
    d = torch.cat([dg.degrade(task, cl[i:i + 1], torch.tensor([float(s[i])]), gen) for i in range(n)])
    return d, cl

fisher = None
if a.ewc:
    fisher = [torch.zeros_like(p) for p in params]
    for i in range(32):
        t = OLD[i % 4]
        d, c = pairs(t, 1)
        l = per_sample_loss(model(d), c).mean()
        gr = torch.autograd.grad(l, params)
        for f_, g_ in zip(fisher, gr): f_ += g_ ** 2 / 32
    tot = sum(f_.sum() for f_ in fisher); n = sum(f_.numel() for f_ in fisher)
    fisher = [f_ / (tot / n) for f_ in fisher]  # mean 1
ema_model = copy.deepcopy(model)
ema_params = [ema_model.p(n) for n in model.names if trainable(n)] + (list(ema_model.ad.parameters()) if a.adapter else [])
memory = {t: pairs(t, a.mem, a.replay_crop or None) for t in OLD} if a.mem else None
n_rev = 0 if a.replay == 'none' else max(1, round(a.review * a.batch))
n_new = a.batch - n_rev
if a.nrev >= 0: n_new = a.batch; n_rev = a.nrev
t0 = time.time()
for step in range(a.steps):
    lr = a.lr * min(1, (step + 1) / 10)
    for g_ in opt.param_groups: g_['lr'] = lr
    d, c = pairs(a.domain, n_new)
    loss = per_sample_loss(model(d), c).mean() * n_new
    new_loss = loss
    if n_rev:
        task = OLD[step % 4] if n_rev == 1 else None
        ds, cs = [], []
        for i in range(n_rev):
            t = REPLAY[(step * n_rev + i) % len(REPLAY)]
            if a.mem:
                j = int(torch.randint(0, a.mem, (1,), generator=gen)); dd, cc = memory[t][0][j:j+1], memory[t][1][j:j+1]
            else:
                dd, cc = pairs(t, 1, a.replay_crop or None)
            ds.append(dd); cs.append(cc)
        dr, cr = torch.cat(ds), torch.cat(cs)
        pr = model(dr)
        if a.replay == 'synth':
            loss = loss + per_sample_loss(pr, cr).sum()
        elif a.replay == 'distill':
            with torch.no_grad(): tr = shipped(dr)
            loss = loss + a.lam * per_sample_loss(pr, tr).sum()
        elif a.replay == 'synth+distill':
            with torch.no_grad(): tr = shipped(dr)
            loss = loss + 0.5 * per_sample_loss(pr, cr).sum() + 0.5 * per_sample_loss(pr, tr).sum()
    loss = loss / (n_new + n_rev)
    if a.ewc:
        loss = loss + a.ewc * sum((fi * (p - q) ** 2).sum() for fi, p, q in zip(fisher, params, anchor))
    if a.l2sp:
        loss = loss + a.l2sp * sum(((p - q) ** 2).sum() for p, q in zip(params, anchor))
    if a.agem:
        gn = torch.autograd.grad(new_loss / n_new, params, retain_graph=True)
        gr = torch.autograd.grad((loss * (n_new + n_rev) - new_loss) / n_rev, params)
        gnv = torch.cat([g_.flatten() for g_ in gn]); grv = torch.cat([g_.flatten() for g_ in gr])
        dot = float(gnv @ grv)
        if dot < 0: gnv = gnv - dot / float(grv @ grv + 1e-12) * grv
        tot = gnv + grv if a.agem == 2 else gnv
        opt.zero_grad(); i0 = 0
        for p_ in params:
            p_.grad = tot[i0:i0 + p_.numel()].view_as(p_).clone(); i0 += p_.numel()
    else:
        opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if a.ema:
        with torch.no_grad():
            for e_, p_ in zip(ema_params, params): e_.mul_(a.ema).add_(p_.detach(), alpha=1 - a.ema)
    if a.eval_every and (step + 1) % a.eval_every == 0:
        e = evaluate(ema_model if a.ema else model)
        dl = {k: round(e[k] - base[k], 2) for k in TASKS}
        print(f'step {step+1} {time.time()-t0:.0f}s new {dl[a.domain]} old {sum(dl[k] for k in OLD)/4:.2f} {dl}', flush=True)
e = evaluate(ema_model if a.ema else model)
dl = {k: round(e[k] - base[k], 2) for k in TASKS}
print(f'FINAL {a.tag} {vars(a)} new {dl[a.domain]} old {sum(dl[k] for k in OLD)/4:.2f} {dl} {(time.time()-t0)/a.steps:.3f}s/step', flush=True)

if a.save:
    m = ema_model if a.ema else model
    json.dump(m.net.export_weights(), open(a.save, 'w'))
