package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// Dense is Keras' Dense: y = activation(x·W + b), W of shape (in, units)
// initialised glorot_uniform, b zeros. Like Keras' Dense it acts on the
// last axis: an input of shape (d1, ..., dk, in) gives (d1, ..., dk, units),
// the same W and b applied at each of the d1·…·dk positions. A batch of n
// samples is then n·d1·…·dk rows of in features, which the layer computes
// as it computes n rows of a flat input (the activation, softmax included,
// also acts on the last axis).
type Dense struct {
	base
	threads
	Units   int
	UseBias bool
	act     activations.Func
	// kernelInit and biasInit are the initializers; nil for Keras'
	// defaults, glorot_uniform and zeros.
	kernelInit, biasInit *Initializer

	feat int // the input's last axis: the kernel's rows
	pos  int // positions per sample: the product of the other axes (1 if flat)

	Kernel, Bias *tensor.Variable

	x        []float32 // input of the last Forward (not owned)
	z, y, dx []float32
	dz       []float32
	needDX   bool

	// Training scratch, sized by Allocate.
	idx   []int32   // the last Forward's non-zero inputs, row after row:
	val   []float32 // row r's are idx, val[start[r]:start[r+1]]
	start []int
	mask  []uint64  // wide layers: bit r%64 of mask[(r/64)·in + k] is x[r,k] ≠ 0
	gpad  []float32 // narrow layers: dW with rows padded to padStride floats
	wt    []float32 // the kernel transposed (units × in), for dx
	all   []uint64  // every bit set: AccumCols' mask for dx = dz·Wᵀ, which skips nothing
	iota  []int32   // 0, 1, 2, ...: every row of wt (for dx) or of dz (for db)
	ones  []float32 // maxBatch ones, to sum dz's rows with AccumRows

	pool sync.Pool // *inferScratch for Infer

	th *denseThreads // per-thread state (see dense_threads.go)
	sp *denseSplit   // the split by inputs (see dense_split.go)
	// Chained to the stage before it (see chain.go): ahead is how many
	// rows the stage has computed the next ForwardLogits' sums of (0:
	// none); chained that this step's forward pass ran chained, so
	// BackwardLogits leaves dx to the stage; dxLater that it did, from dz
	// (the stage calls inputGradTo for each group of samples it routes).
	ahead   int
	chained bool
	dxLater []float32
	// rowWin (over the input's rows) and dxWin[r] (over r rows of dz)
	// are the windows the dense passes read their operands through, and
	// cx the input's whole buffer (the chained stage's output, which its
	// forward pass filled).
	rowWin *kernels.Windows
	dxWin  []*kernels.Windows
	cx     []float32
	// dense says the training input is read as a dense matrix (see
	// DenseInput); colWin[t] is rowWin over column block t's cells, and
	// denseFwd says the last ForwardLogits did so, cx holding its input
	// with the whole batch buffer's length.
	dense    bool
	colWin   []*kernels.Windows
	denseFwd bool
	acts     rowJob // the activation over blocks of rows
}

// narrow is the widest layer whose weight gradient is computed row-major
// (kernels.ScatterRows, one pass over each input row's non-zero inputs,
// into rows padded to whole cache lines); wider layers go k-major
// (kernels.GradRows), which keeps a whole gradient row in registers. Both
// sum every element in the same order. (Measured on MNIST 784→10: k-major
// loses to branch mispredictions, one per input column; packed unpadded
// rows lose to store-forwarding stalls between neighbouring rows.)
const narrow = 32

func padStride(u int) int { return (u + 15) &^ 15 }

// NewDense returns a Dense layer with units outputs; WithActivation and
// WithoutBias set the rest.
func NewDense(units int, opts ...Option) (*Dense, error) {
	if units <= 0 {
		return nil, fmt.Errorf("Dense: units must be a positive integer, got %d", units)
	}
	s, err := collect("Dense", opts, "activation", "use_bias", "kernel_initializer", "bias_initializer")
	if err != nil {
		return nil, err
	}
	d := &Dense{Units: units, UseBias: !s.noBias}
	if d.kernelInit, d.biasInit, err = s.initializers("Dense"); err != nil {
		return nil, err
	}
	if d.act, err = activations.Get(s.activation); err != nil {
		return nil, fmt.Errorf("Dense: %w", err)
	}
	return d, nil
}

// MustNewDense is NewDense for arguments known to be valid: it panics on
// an error.
func MustNewDense(units int, opts ...Option) *Dense { return must(NewDense(units, opts...)) }

// ClassName returns "Dense".
func (*Dense) ClassName() string { return "Dense" }

// ActivationName returns the activation's name.
func (d *Dense) ActivationName() string { return d.act.Name }

// Build creates the kernel (glorot_uniform) and bias (zeros). Like Keras,
// Dense acts on the last axis of an input of any rank: the kernel is
// (in[len(in)-1], units), its glorot_uniform fans are those two sizes, and
// the output shape is in with its last axis replaced by units.
func (d *Dense) Build(in []int, rng *rand.Rand) ([]int, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("Dense %q: input shape %s has no axis to act on", d.name, ShapeTuple(in))
	}
	f := in[len(in)-1]
	out := append(append([]int(nil), in[:len(in)-1]...), d.Units)
	d.setShapes(in, out)
	d.feat, d.pos = f, tensor.Size(in[:len(in)-1])
	d.Kernel = tensor.NewVariable(d.name+"/kernel", f, d.Units)
	fillKernel(d.kernelInit, d.Kernel.Value, f, d.Units, rng)
	if d.UseBias {
		d.Bias = tensor.NewVariable(d.name+"/bias", d.Units)
		fillBias(d.biasInit, d.Bias.Value, f, d.Units, rng)
	}
	return d.out, nil
}

// SetName renames the layer and its variables.
func (d *Dense) SetName(name string) {
	d.name = name
	if d.Kernel != nil {
		d.Kernel.Name = name + "/kernel"
	}
	if d.Bias != nil {
		d.Bias.Name = name + "/bias"
	}
}

// Variables returns the kernel and, with use_bias, the bias.
func (d *Dense) Variables() []*tensor.Variable {
	if d.Bias != nil {
		return []*tensor.Variable{d.Kernel, d.Bias}
	}
	return []*tensor.Variable{d.Kernel}
}

// Allocate sizes the training buffers: after it, a training step
// allocates nothing. A batch of maxBatch samples is maxBatch·positions rows.
func (d *Dense) Allocate(maxBatch int, needInputGrad bool) {
	in, u := d.feat, d.Units
	maxBatch *= d.pos // rows from here on
	d.z = make([]float32, maxBatch*u)
	d.y = make([]float32, maxBatch*u)
	d.dz = make([]float32, maxBatch*u)
	d.needDX = needInputGrad
	d.idx = make([]int32, maxBatch*in+kernels.Pad)
	d.val = make([]float32, maxBatch*in+kernels.Pad)
	d.start = make([]int, maxBatch+1)
	d.mask, d.gpad = nil, nil
	if u <= narrow {
		d.gpad = kernels.AlignedFloats(in * padStride(u))
	} else {
		d.mask = make([]uint64, (maxBatch+63)/64*in)
	}
	d.iota = strided(max(maxBatch, u), 1)
	d.ones = make([]float32, maxBatch)
	for r := range d.ones {
		d.ones[r] = 1
	}
	d.dx, d.wt, d.all = nil, nil, nil
	if needInputGrad {
		d.dx = make([]float32, maxBatch*in)
		d.wt = make([]float32, u*in)
		d.all = make([]uint64, (maxBatch+63)/64*u)
		for i := range d.all {
			d.all[i] = ^uint64(0)
		}
	}
	d.allocThreads(maxBatch)
	d.allocSplit(maxBatch)
	d.linkWindows(maxBatch)
	d.acts.prepare()
	d.ahead, d.chained, d.dxLater = 0, false, nil
}

// inferScratch holds the non-zero lists of two rows for Infer; Dense keeps
// a pool of them, so concurrent Infer calls share nothing and allocate
// nothing once the pool is warm.
type inferScratch struct {
	idx [2][]int32
	val [2][]float32
}

func (d *Dense) scratch() *inferScratch {
	if s, ok := d.pool.Get().(*inferScratch); ok && len(s.idx[0]) >= d.feat+kernels.Pad {
		return s
	}
	n := d.feat + kernels.Pad
	return &inferScratch{idx: [2][]int32{make([]int32, n), make([]int32, n)}, val: [2][]float32{make([]float32, n), make([]float32, n)}}
}

// initRow sets z to the bias (or zeros).
func (d *Dense) initRow(zr []float32) {
	if d.Bias != nil {
		copy(zr, d.Bias.Value)
	} else {
		clear(zr)
	}
}

// affine writes z = x·W + b for n rows (of d.feat inputs: n samples are
// n·d.pos rows) for inference. Zero inputs are skipped: raw images are
// mostly zeros, and skipping them changes no sum. Each row's sums run over
// the non-zero inputs in increasing k, one rounded product and one rounded
// sum at a time (kernels.NonZero, kernels.AccumRows).
func (d *Dense) affine(z, x []float32, n int) {
	in, u := d.feat, d.Units
	w := d.Kernel.Value
	s := d.scratch()
	defer d.pool.Put(s)
	r := 0
	for ; r+1 < n; r += 2 {
		// Two rows at a time: their sums are independent.
		z0, z1 := z[r*u:(r+1)*u], z[(r+1)*u:(r+2)*u]
		d.initRow(z0)
		d.initRow(z1)
		c0 := kernels.NonZero(s.idx[0], s.val[0], x[r*in:(r+1)*in], nil, 0)
		c1 := kernels.NonZero(s.idx[1], s.val[1], x[(r+1)*in:(r+2)*in], nil, 0)
		kernels.AccumRows2(z0, z1, w, u, s.idx[0][:c0], s.val[0][:c0], s.idx[1][:c1], s.val[1][:c1])
	}
	if r < n {
		zr := z[r*u : (r+1)*u]
		d.initRow(zr)
		c := kernels.NonZero(s.idx[0], s.val[0], x[r*in:(r+1)*in], nil, 0)
		kernels.AccumRows(zr, w, u, s.idx[0][:c], s.val[0][:c])
	}
}

// Forward computes act(x·W + b) with the sums of affine (each output over
// the non-zero inputs in increasing k), and keeps what Backward needs: for
// narrow layers each row's list of non-zero inputs, for wide layers a bit
// mask of them (then the sums are taken column by column, which reads each
// row of W once per batch; see kernels.AccumCols).
func (d *Dense) Forward(x []float32, n int, training bool) []float32 {
	d.ForwardLogits(x, n)
	rows := n * d.pos
	if d.act.Name == "linear" {
		return d.z[:rows*d.Units] // no copy: the logits are the output
	}
	d.acts.forward(d.tp, d.act, d.y, d.z, rows, d.Units)
	return d.y[:rows*d.Units]
}

// CanForwardBytes reports whether ForwardBytes may replace Forward: the
// layer must need no input gradient, as the first layer of a model does,
// and be narrow (its backward pass reads only the lists of non-zero inputs,
// not x) or split by inputs over threads (see dense_split.go; it keeps its
// own float32 copy of the batch).
func (d *Dense) CanForwardBytes() bool { return (d.gpad != nil || d.sp != nil) && !d.needDX }

// ForwardBytes is the training Forward (ForwardLogits if logitsOnly) for
// len(rows) samples of uint8 input: sample r is src[rows[r]·w : (rows[r]+1)·w],
// w the input's size per sample, with byte b read as float32(b), or lut[b]
// if lut is not nil, the values data.Array.GatherRows would produce; a byte
// must be zero exactly when its value is (data.Array.ByteRows checks). It
// lists the non-zero inputs straight from the bytes, so the batch is never
// converted to float32. Only for layers with CanForwardBytes.
func (d *Dense) ForwardBytes(src []uint8, rows []int, lut *[256]float32, logitsOnly bool) []float32 {
	if d.sp != nil {
		return d.forwardBytesSplit(src, rows, lut, logitsOnly)
	}
	in, u, p := d.feat, d.Units, d.pos
	n := len(rows) * p // rows of in inputs
	w := d.Kernel.Value
	d.x = nil // Backward reads the lists only
	if d.th != nil {
		d.th.rows = 0 // the lists are the serial ones
	}
	s, r := 0, 0
	for _, sample := range rows {
		// Row r is position q of the sample: row sample·p + q of src.
		for q := 0; q < p; q, r = q+1, r+1 {
			row := sample*p + q
			d.initRow(d.z[r*u : (r+1)*u])
			d.start[r] = s
			s += kernels.NonZeroU8(d.idx[s:], d.val[s:], src[row*in:(row+1)*in], lut)
			if r%2 == 1 {
				a, b, c := d.start[r-1], d.start[r], s
				kernels.AccumRows2(d.z[(r-1)*u:r*u], d.z[r*u:(r+1)*u], w, u, d.idx[a:b], d.val[a:b], d.idx[b:c], d.val[b:c])
			}
		}
	}
	d.start[n] = s
	if n%2 == 1 {
		a, b := d.start[n-1], s
		kernels.AccumRows(d.z[(n-1)*u:n*u], w, u, d.idx[a:b], d.val[a:b])
	}
	if logitsOnly {
		return d.z[:n*u]
	}
	d.act.Forward(d.y, d.z, n, u)
	return d.y[:n*u]
}

// InferBytes is Infer (InferLogits if logitsOnly) for n consecutive samples
// of uint8 input src (n times the input's size per sample, in bytes) read as
// ForwardBytes reads them.
func (d *Dense) InferBytes(dst []float32, src []uint8, n int, lut *[256]float32, logitsOnly bool) {
	in, u := d.feat, d.Units
	n *= d.pos // rows of in inputs
	w := d.Kernel.Value
	s := d.scratch()
	defer d.pool.Put(s)
	r := 0
	for ; r+1 < n; r += 2 {
		z0, z1 := dst[r*u:(r+1)*u], dst[(r+1)*u:(r+2)*u]
		d.initRow(z0)
		d.initRow(z1)
		c0 := kernels.NonZeroU8(s.idx[0], s.val[0], src[r*in:(r+1)*in], lut)
		c1 := kernels.NonZeroU8(s.idx[1], s.val[1], src[(r+1)*in:(r+2)*in], lut)
		kernels.AccumRows2(z0, z1, w, u, s.idx[0][:c0], s.val[0][:c0], s.idx[1][:c1], s.val[1][:c1])
	}
	if r < n {
		zr := dst[r*u : (r+1)*u]
		d.initRow(zr)
		c := kernels.NonZeroU8(s.idx[0], s.val[0], src[r*in:(r+1)*in], lut)
		kernels.AccumRows(zr, w, u, s.idx[0][:c], s.val[0][:c])
	}
	if !logitsOnly {
		d.act.Forward(dst, dst, n, u)
	}
}

// LogitsForwarder is an Activated layer whose training forward pass can
// stop before the activation. The trainer uses it when nothing reads the
// layer's output: the loss takes the logits and BackwardLogits skips the
// activation's derivative.
type LogitsForwarder interface {
	Activated
	// ForwardLogits is Forward without the activation: it returns the
	// logits (Logits()), and the output buffer is left stale.
	ForwardLogits(x []float32, n int) []float32
}

// ForwardLogits is Forward without the activation; it returns x·W + b.
func (d *Dense) ForwardLogits(x []float32, n int) []float32 {
	in, u := d.feat, d.Units
	n *= d.pos // rows of in inputs
	w := d.Kernel.Value
	d.x = x
	if d.sp != nil {
		d.sp.n = 0
	}
	if ahead := d.ahead; ahead > 0 {
		d.ahead = 0
		if ahead == n {
			return d.z[:n*u] // computed by the chained stage
		}
	}
	d.chained, d.denseFwd = false, false
	if d.rowWin != nil && cap(x) >= d.rowWin.Reach() && n <= d.rowWin.Len() {
		// Computed features: a dense matrix product (see DenseInput), on
		// the whole buffer so that one set of windows serves every n.
		d.denseFwd, d.cx = true, x[:cap(x)]
		if !d.forwardThreads(x, n) {
			kernels.ConvForward(d.z, nil, nil, d.cx, d.rowWin, 0, n, w, u, d.biasValue())
		}
		return d.z[:n*u]
	}
	if d.forwardThreads(x, n) || d.forwardSplit(x, n) {
		return d.z[:n*u]
	}
	if d.mask != nil && kernels.HasAccumCols() {
		// Wide layers: record the non-zero inputs as bit masks, then walk
		// the input columns, each row of W read once (kernels.AccumCols),
		// where there is a fast version.
		mask := d.mask[:(n+63)/64*in]
		clear(mask)
		for r := 0; r < n; r++ {
			d.initRow(d.z[r*u : (r+1)*u])
			kernels.NonZero(d.idx, d.val, x[r*in:(r+1)*in], mask[(r/64)*in:(r/64+1)*in], 1<<(r%64))
		}
		if kernels.AccumCols(d.z[:n*u], w, x[:n*in], in, u, mask, n) {
			return d.z[:n*u]
		}
	}
	var mask []uint64
	if d.mask != nil {
		mask = d.mask[:(n+63)/64*in]
		clear(mask) // recorded below
	}
	d.serialRows(x, n, mask)
	return d.z[:n*u]
}

// serialRows computes the sums of x's first n rows on the caller: each
// row's non-zero inputs listed after the previous row's, recorded in mask
// if there is one, and summed two rows at a time (their sums are
// independent).
func (d *Dense) serialRows(x []float32, n int, mask []uint64) {
	in, u := d.feat, d.Units
	w := d.Kernel.Value
	s := 0
	for r := 0; r < n; r++ {
		d.initRow(d.z[r*u : (r+1)*u])
		var m []uint64
		var bit uint64
		if mask != nil {
			m, bit = mask[(r/64)*in:(r/64+1)*in], 1<<(r%64)
		}
		d.start[r] = s
		s += kernels.NonZero(d.idx[s:], d.val[s:], x[r*in:(r+1)*in], m, bit)
		if r%2 == 1 {
			a, b, c := d.start[r-1], d.start[r], s
			kernels.AccumRows2(d.z[(r-1)*u:r*u], d.z[r*u:(r+1)*u], w, u, d.idx[a:b], d.val[a:b], d.idx[b:c], d.val[b:c])
		}
	}
	d.start[n] = s
	if n%2 == 1 {
		a, b := d.start[n-1], s
		kernels.AccumRows(d.z[(n-1)*u:n*u], w, u, d.idx[a:b], d.val[a:b])
	}
}

// Logits returns x·W + b from the last Forward.
func (d *Dense) Logits() []float32 { return d.z }

// Backward applies the activation's derivative, then BackwardLogits.
func (d *Dense) Backward(dy []float32, n int) []float32 {
	if d.act.Name == "linear" {
		return d.BackwardLogits(dy, n) // dLoss/dLogits is dy; BackwardLogits only reads it
	}
	d.acts.backward(d.tp, d.act, d.dz, d.y, dy, n*d.pos, d.Units)
	return d.BackwardLogits(d.dz, n)
}

// BackwardLogits computes dW = xᵀ·dz, db = Σ dz and dx = dz·Wᵀ. Every
// element is summed in the order of the plain loops (dW and db over the
// rows r in increasing order, skipping zero inputs; dx over j), starting
// from zero, so the results do not depend on the kernel level.
func (d *Dense) BackwardLogits(dz []float32, n int) []float32 {
	in, u := d.feat, d.Units
	n *= d.pos // rows of in inputs
	if d.chained {
		return d.chainedGrad(dz, n)
	}
	if d.gradSplit(dz, n) {
		if !d.needDX {
			return nil
		}
		return d.dx[:n*in]
	}
	// dW[k,:] = Σ_r x[r,k]·dz[r,:] over the rows whose x[r,k] ≠ 0, in
	// increasing r, from zero.
	// By blocks of columns on the pool's threads (and Wᵀ with it) when
	// Forward ran threaded, see dense_threads.go; else here.
	threaded := d.gradThreads(dz, n)
	switch {
	case threaded:
	case d.denseFwd:
		clear(d.Kernel.Grad)
		d.rowsGrad(0, n, dz)
	case d.gpad != nil:
		// Row-major: each row's non-zero inputs from Forward's lists, into
		// rows padded to whole cache lines, then copied into Grad.
		// gpad is all zeros between calls: CopyRows clears what it copies.
		ps := padStride(u)
		kernels.ScatterBatch(d.gpad, ps, d.idx, d.val, d.start[:n+1], dz[:n*u])
		kernels.CopyRows(d.Kernel.Grad, u, d.gpad, ps, in, u, true)
	default:
		// k-major, through Forward's bit masks.
		kernels.GradRows(d.Kernel.Grad, d.x, in, dz, u, d.mask, n)
	}
	d.biasGrad(dz, n)
	if !d.needDX {
		return nil
	}
	// dx[r,k] = Σ_j dz[r,j]·W[k,j]: with Wᵀ's rows, that is dx[r,:] =
	// Σ_j dz[r,j]·Wᵀ[j,:], j in increasing order. (Threaded, gradPart
	// made Wᵀ by its blocks of columns.)
	if !threaded {
		d.transposeRows(0, in)
	}
	if threaded && d.dxThreads(dz, n) {
		return d.dx[:n*in]
	}
	d.inputGrad(0, n, dz)
	return d.dx[:n*in]
}

// chainedGrad is BackwardLogits after a chained forward pass: dW from the
// stage's rows, by the stage's backward job in runs of row blocks
// (dense_pipe.go) when the forward pass ran threaded, else here; db here;
// dx left to the stage, which calls inputGradTo for each group of samples
// it routes back (Wᵀ was made in the forward job, or is made here). The
// returned dx is not written: the stage does not read it.
func (d *Dense) chainedGrad(dz []float32, n int) []float32 {
	d.chained = false
	d.biasGrad(dz, n)
	if d.th != nil && d.th.rows > 0 && d.th.n == n {
		d.pipeStart(dz)
	} else {
		clear(d.Kernel.Grad)
		d.rowsGrad(0, n, dz)
		if d.needDX {
			d.transposeRows(0, d.feat)
		}
	}
	if !d.needDX {
		return nil
	}
	d.dxLater = dz
	return d.dx[:n*d.feat]
}

// rowsGrad adds the terms of the chained stage's rows r0 … r1−1 to dW,
// in increasing row order.
func (d *Dense) rowsGrad(r0, r1 int, dz []float32) {
	kernels.ConvGrad(d.Kernel.Grad, nil, d.cx, d.rowWin, r0, r1, dz[r0*d.Units:], nil, d.Units)
}

// biasValue is the bias, or nil without one.
func (d *Dense) biasValue() []float32 {
	if d.Bias == nil {
		return nil
	}
	return d.Bias.Value
}

// biasGrad sets db = Σ_r dz[r,:] over n rows, from zero, in increasing r
// (none without a bias).
func (d *Dense) biasGrad(dz []float32, n int) {
	if d.Bias != nil {
		gb := d.Bias.Grad
		clear(gb)
		kernels.AccumRows(gb, dz, d.Units, d.iota[:n], d.ones[:n]) // gb += 1·dz[r,:], r = 0..n-1
	}
}

// transposeRows copies rows k0 … k1−1 of W into the same columns of Wᵀ
// (wt), for dx (kernels.Transpose: on avx512 a gather per 16 values of a
// column; the Go loop that wrote each value of a row to another cache
// line of Wᵀ took 1.5–2.3 ms for a 512×512 kernel).
func (d *Dense) transposeRows(k0, k1 int) {
	in, u := d.feat, d.Units
	kernels.Transpose(d.wt[k0:], in, d.Kernel.Value[k0*u:], u, k1-k0, u)
}

// inputGrad sets rows r0 … r1−1 of dx = dz·Wᵀ (Wᵀ in wt): dx[r,:] =
// Σ_j dz[r,j]·Wᵀ[j,:], j in increasing order, from zero. Where AccumCols
// is fast it walks the rows a block of columns at a time, each of Wᵀ's
// rows read once per block instead of once per row (the 5408-wide input
// of the cnn's Dense: 350 → 60 µs a step); its mask, all ones, skips no
// term, so the sums are AccumRows' bit for bit.
func (d *Dense) inputGrad(r0, r1 int, dz []float32) {
	in := d.feat
	if d.dxWin != nil {
		d.inputGradTo(d.dx[r0*in:], r0, r1, dz)
		return
	}
	d.inputGradCols(r0, r1, 0, in, dz)
}

// inputGradCols sets columns k0 … k1−1 of rows r0 … r1−1 of dx = dz·Wᵀ
// (Wᵀ in wt), the sums of inputGrad: each reads rows k0 … k1−1 of W only
// (a layer split by inputs has each thread make its own columns).
func (d *Dense) inputGradCols(r0, r1, k0, k1 int, dz []float32) {
	in, u := d.feat, d.Units
	for r := r0; r < r1; r++ {
		clear(d.dx[r*in+k0 : r*in+k1])
	}
	if kernels.HasAccumCols() && kernels.AccumColsOut(d.dx[r0*in:], d.wt, dz[r0*u:r1*u], u, in, d.all, r1-r0, k0, k1) {
		return
	}
	for r := r0; r < r1; r++ {
		kernels.AccumRows(d.dx[r*in+k0:r*in+k1], d.wt[k0:], in, d.iota[:u], dz[r*u:(r+1)*u])
	}
}

// inputGradTo writes the input gradient of rows r0 … r1−1 into dst (row
// r0 first) as a matrix product through ConvForward (see chain.go): the
// same sums as the lists, about 1.7 times as fast on the cnn's Dense. The
// layer must read its input as a dense matrix (dxWin).
func (d *Dense) inputGradTo(dst []float32, r0, r1 int, dz []float32) {
	u := d.Units
	kernels.ConvForward(dst, nil, nil, dz[r0*u:r1*u], d.dxWin[r1-r0], 0, r1-r0, d.wt, d.feat, nil)
}

// Infer writes act(x·W + b) into dst.
func (d *Dense) Infer(dst, x []float32, n int) {
	d.affine(dst, x, n*d.pos)
	d.act.Forward(dst, dst, n*d.pos, d.Units)
}

// InferLogits writes x·W + b into dst.
func (d *Dense) InferLogits(dst, x []float32, n int) { d.affine(dst, x, n*d.pos) }

// Config returns units, activation and use_bias.
func (d *Dense) Config() map[string]any {
	return map[string]any{"name": d.name, "units": d.Units, "activation": d.act.Name, "use_bias": d.UseBias,
		"kernel_initializer": initName(d.kernelInit, "glorot_uniform"), "bias_initializer": initName(d.biasInit, "zeros")}
}

// glorotUniform fills w from Keras' glorot_uniform: uniform in ±√(6/(fanIn +
// fanOut)), drawing one rng.Float64 per value in order.
// fillKernel fills a kernel with init, or glorot_uniform (nil).
func fillKernel(init *Initializer, w []float32, fanIn, fanOut int, rng *rand.Rand) {
	if init == nil {
		glorotUniform(w, fanIn, fanOut, rng)
		return
	}
	init.fill(w, fanIn, fanOut, rng)
}

// fillBias fills a bias with init; nil keeps zeros and draws nothing, so
// the default leaves the random stream as it was.
func fillBias(init *Initializer, w []float32, fanIn, fanOut int, rng *rand.Rand) {
	if init != nil {
		init.fill(w, fanIn, fanOut, rng)
	}
}

// initName is an initializer's Keras name, def for nil.
func initName(init *Initializer, def string) string {
	if init == nil {
		return def
	}
	return init.Name
}

func glorotUniform(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * limit)
	}
}

func init() {
	Register(Spec{
		Class: "Dense",
		Doc:   "a fully connected layer on the last axis: activation(x·kernel + bias)",
		Args: []schema.Arg{
			{Name: "units", Kind: schema.Int, Required: true, Doc: "a positive integer", Valid: schema.Positive},
			activationArg("linear", false),
			{Name: "use_bias", Kind: schema.Bool, Default: true, Doc: "true or false"},
			initializerArg("kernel_initializer", "glorot_uniform"),
			initializerArg("bias_initializer", "zeros"),
		},
		New: func(a schema.Values) (Layer, error) {
			opts := []Option{WithActivation(a.String("activation")),
				WithKernelInitializer(a.String("kernel_initializer")), WithBiasInitializer(a.String("bias_initializer"))}
			if !a.Bool("use_bias") {
				opts = append(opts, WithoutBias())
			}
			return NewDense(a.Int("units"), opts...)
		},
		Keras:        kerasWeighted,
		Positional:   3,
		Aliases:      map[string]string{"output_dim": "units", "init": "kernel_initializer"},
		Example:      map[string]any{"units": 3, "activation": "relu", "use_bias": false},
		ExampleInput: []int{6},
	})
}
