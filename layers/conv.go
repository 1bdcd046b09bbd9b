package layers

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/activations"
	"github.com/kiln-ml/kiln/internal/kernels"
	"github.com/kiln-ml/kiln/internal/value"
	"github.com/kiln-ml/kiln/schema"
	"github.com/kiln-ml/kiln/tensor"
)

// window is the geometry of a 2-D sliding window (a convolution kernel or a
// pooling window) over channels_last samples of shape (inH, inW, cin).
// Output pixel (oh, ow) reads input rows oh·sh−padT … oh·sh−padT+kh−1 and
// columns ow·sw−padL … ow·sw−padL+kw−1; cells outside the input are padding.
type window struct {
	inH, inW, cin int
	outH, outW    int
	kh, kw        int
	sh, sw        int
	padT, padL    int
}

// pixels is the number of output pixels of one sample.
func (g *window) pixels() int { return g.outH * g.outW }

// origin returns the input row and column of the top-left cell of output
// pixel p's window (negative inside the top or left padding).
func (g *window) origin(p int) (h0, w0 int) {
	return (p/g.outW)*g.sh - g.padT, (p%g.outW)*g.sw - g.padL
}

// cols returns the columns j in [jlo, jhi) of a window at input column w0
// that fall inside the input.
func (g *window) cols(w0 int) (jlo, jhi int) {
	return max(0, -w0), min(g.kw, g.inW-w0)
}

// outSize is TensorFlow's output length and leading padding along one axis:
// "valid": ⌊(in−k)/s⌋+1, no padding (in ≥ k, checked by the caller);
// "same": ⌈in/s⌉ with max((out−1)·s+k−in, 0) padding cells, half of them
// (rounded down) before the input, the rest after it.
func outSize(in, k, s int, padding string) (out, before int) {
	if padding == "same" {
		out = (in + s - 1) / s
		total := max((out-1)*s+k-in, 0)
		return out, total / 2
	}
	return (in-k)/s + 1, 0
}

// normPadding checks a Keras padding name (case-insensitive, as Keras
// lower-cases it) and returns it in lower case.
func normPadding(layer, p string) (string, error) {
	if p == "" {
		return "valid", nil // not given: Keras' default
	}
	switch l := strings.ToLower(p); l {
	case "valid", "same":
		return l, nil
	}
	return "", fmt.Errorf("%s: padding must be \"valid\" or \"same\", got %q", layer, p)
}

// checkPair checks that both values of a kernel_size, pool_size or strides
// argument are positive.
func checkPair(layer, arg string, v [2]int) error {
	if v[0] <= 0 || v[1] <= 0 {
		return fmt.Errorf("%s: %s must be two positive integers, got (%d, %d)", layer, arg, v[0], v[1])
	}
	return nil
}

// suggestInput proposes an Input shape of rank 3 for a layer that received
// the per-sample shape in.
func suggestInput(in []int) string {
	switch len(in) {
	case 1:
		if s := int(math.Sqrt(float64(in[0]))); s*s == in[0] {
			return fmt.Sprintf("[%d, %d, 1]", s, s)
		}
	case 2:
		return fmt.Sprintf("[%d, %d, 1]", in[0], in[1])
	}
	return "[height, width, channels]"
}

// newWindow checks a layer's input shape and window and computes the
// geometry; class and name are for messages, what is "kernel" or "pool".
func newWindow(class, name, what string, in []int, k, s [2]int, padding string) (window, error) {
	if len(in) != 3 {
		hint := "Flatten removes the spatial axes, so it must come after the last " + class
		if len(in) < 3 {
			hint = fmt.Sprintf("give the model Input(shape=%s), or add a Reshape layer before it (Reshape: {target_shape: %s})", suggestInput(in), suggestInput(in))
		}
		return window{}, fmt.Errorf("%s %q needs inputs of shape (None, height, width, channels) (channels_last, Keras' default), got %s; %s",
			class, name, ShapeTuple(in), hint)
	}
	g := window{inH: in[0], inW: in[1], cin: in[2], kh: k[0], kw: k[1], sh: s[0], sw: s[1]}
	if padding == "valid" && (g.kh > g.inH || g.kw > g.inW) {
		return window{}, fmt.Errorf("%s %q: %s_size (%d, %d) is larger than its input's (height, width) = (%d, %d) with padding \"valid\"; use a smaller %s_size or padding \"same\"",
			class, name, what, g.kh, g.kw, g.inH, g.inW, what)
	}
	g.outH, g.padT = outSize(g.inH, g.kh, g.sh, padding)
	g.outW, g.padL = outSize(g.inW, g.kw, g.sw, padding)
	return g, nil
}

// Conv2D is Keras' Conv2D with data_format channels_last: each sample is an
// (H, W, C) image and the output is activation(conv(x, kernel) + bias) of
// shape (outH, outW, filters). The kernel has Keras' shape (kh, kw, C,
// filters), initialised glorot_uniform; the bias is zeros. Padding "valid"
// uses only whole windows; "same" pads with zeros as TensorFlow does (output
// ⌈in/stride⌉, the odd padding cell at the bottom or right). Dilation and
// groups are not supported (1).
//
// It is computed like a Dense layer over image patches, the im2col matrix
// product z = patches·kernel with the kernel seen as a (kh·kw·C) × filters
// matrix (row k = (i·kw + j)·C + c), without building the patches: the
// kernels (kernels.ConvForward, kernels.ConvGrad) read each pixel's window
// through offset tables, keep a tile of pixels' outputs (or a block of
// kernel-gradient rows) in vector registers across the filters, and sum
// every output in increasing k (the kernel gradient over the pixels in
// increasing order). When windows reach into the padding, samples are first
// copied into a zero-bordered buffer, so every window is whole. A relu
// layer's Forward stores only relu(logits) and a bit mask of the positive
// logits (Logits recomputes the logits if asked); when no input gradient is
// needed, its Backward applies relu's derivative from the mask as the
// kernel gradient reads dLoss/dOutput. So the batch's (pixels × filters)
// arrays, which outgrow the caches, are each written and read once.
//
// Very sparse inputs into wide windows (fewer than 1 in sparseDensity
// values non-zero, windows of at least sparseMinK values, such as one-hot
// channels) take another path: each output pixel's window is listed
// as its non-zero inputs (for narrow windows, kw·C ≤ 64, read off bit sets
// of each input row's non-zero values) and only those kernel rows are added
// (kernels.AccumRows2), the same lists giving the kernel gradient
// (kernels.ScatterBatch). Both paths add the same products in the same
// order, except that the dense one also adds the zero inputs' products,
// which changes a sum only where a weight is infinite or NaN or a sum is
// -0.
type Conv2D struct {
	base
	threads
	// kernelInit and biasInit are the initializers; nil for Keras'
	// defaults, glorot_uniform and zeros.
	kernelInit, biasInit *Initializer
	// Filters is the number of output channels.
	Filters int
	// KernelSize is the window's (height, width).
	KernelSize [2]int
	// Strides is the window's step (rows, columns); default (1, 1).
	Strides [2]int
	// Padding is "valid" (default) or "same".
	Padding string
	// UseBias adds a bias per filter (default true).
	UseBias bool
	act     activations.Func

	// Kernel has shape (kh, kw, C, filters); Bias has shape (filters).
	Kernel, Bias *tensor.Variable

	g window
	k int // kh·kw·C: the length of a patch
	x []float32
	z []float32 // logits, n·pixels × filters
	// zStale says z does not hold the last Forward's logits (a relu
	// Forward stores only the outputs); Logits computes them from x, which
	// stays valid until Backward, for the last Forward's n samples.
	zStale bool
	n      int
	y      []float32
	mask   []uint8 // relu's mask (logits > 0) from a relu Forward, see kernels.ConvForward
	dz     []float32
	dx     []float32
	gdx    bool // the input gradient is needed

	// The implicit im2col (see kernels.ConvForward): a sample is read from
	// its source, the input itself or, when windows reach into the padding
	// (padded), a copy with a zero border of ph × pw cells (srcWidth
	// floats). win holds each output pixel's window offset in the source
	// and each kernel position's offset in a window.
	padded   bool
	ph, pw   int
	srcWidth int
	win      *kernels.Windows

	// Training scratch, sized by Allocate, for up to chunk output pixels at
	// a time (all of a batch's when they fit): the padded copies of the
	// samples they cover (xpad, holding samples padLo … padLo+padN−1 of
	// the current input), or, on the sparse path, their patch lists (pl,
	// gpad, iota and ones exist only if k ≥ sparseMinK). kept says those
	// of the last Forward cover the whole batch, so Backward reuses them.
	// sparse says the last Forward took the sparse path.
	xpad   []float32
	padLo  int
	padN   int
	pl     *patchLists
	chunk  int
	kept   bool
	sparse bool
	gpad   []float32 // dW with rows padded to padStride(filters) floats
	iota   []int32   // 0, 1, 2, …
	ones   []float32 // ones, to sum dz's rows into db with AccumRows
	wt     []float32 // the kernel transposed (filters × k), for dx
	fidx   []int32   // one output pixel's non-zero dz, for dx
	fval   []float32
	dcol   []float32 // one output pixel's patch gradient, for dx

	pool sync.Pool // *convScratch for Infer

	// The dense path's kernel gradient is summed by groups of samples
	// (see gradGroupSize): gpart holds each group's kernel and bias sums,
	// group g at g·(k+1)·f.
	group int
	gpart []float32
	// th is the per-thread state when the pool has several threads (see
	// conv_threads.go).
	th   *convThreads
	acts rowJob // the activation over blocks of rows
}

// maxListEntries bounds the patch lists Allocate keeps for training
// (4 Mi entries, 32 MiB): a batch needing more is processed in chunks, and
// Backward lists the patches again.
const maxListEntries = 1 << 22

// inferChunk is how many output pixels Infer lists at a time.
const inferChunk = 64

// NewConv2D returns a Conv2D layer with filters output channels and a
// kernel of kernelSize (height, width); WithStrides, WithPadding,
// WithActivation and WithoutBias set the rest.
func NewConv2D(filters int, kernelSize [2]int, opts ...Option) (*Conv2D, error) {
	if filters <= 0 {
		return nil, fmt.Errorf("Conv2D: filters must be a positive integer, got %d", filters)
	}
	if err := checkPair("Conv2D", "kernel_size", kernelSize); err != nil {
		return nil, err
	}
	s, err := collect("Conv2D", opts, "strides", "padding", "activation", "use_bias", "kernel_initializer", "bias_initializer")
	if err != nil {
		return nil, err
	}
	c := &Conv2D{Filters: filters, KernelSize: kernelSize, Strides: [2]int{1, 1}, UseBias: !s.noBias}
	if c.kernelInit, c.biasInit, err = s.initializers("Conv2D"); err != nil {
		return nil, err
	}
	if s.has("strides") {
		c.Strides = s.strides
		if err := checkPair("Conv2D", "strides", c.Strides); err != nil {
			return nil, err
		}
	}
	if c.Padding, err = normPadding("Conv2D", s.padding); err != nil {
		return nil, err
	}
	if c.act, err = activations.Get(s.activation); err != nil {
		return nil, fmt.Errorf("Conv2D: %w", err)
	}
	return c, nil
}

// MustNewConv2D is NewConv2D for arguments known to be valid: it panics on
// an error.
func MustNewConv2D(filters int, kernelSize [2]int, opts ...Option) *Conv2D {
	return must(NewConv2D(filters, kernelSize, opts...))
}

// ClassName returns "Conv2D".
func (*Conv2D) ClassName() string { return "Conv2D" }

// ActivationName returns the activation's name.
func (c *Conv2D) ActivationName() string { return c.act.Name }

// Build checks that the input is (H, W, C) and the kernel fits, creates the
// kernel (glorot_uniform with fan_in = kh·kw·C, fan_out = kh·kw·filters)
// and the bias (zeros), and returns (outH, outW, filters).
func (c *Conv2D) Build(in []int, rng *rand.Rand) ([]int, error) {
	g, err := newWindow("Conv2D", c.name, "kernel", in, c.KernelSize, c.Strides, c.Padding)
	if err != nil {
		return nil, err
	}
	c.g = g
	c.k = g.kh * g.kw * g.cin
	if err := c.tables(); err != nil {
		return nil, err
	}
	c.setShapes(in, []int{g.outH, g.outW, c.Filters})
	c.Kernel = tensor.NewVariable(c.name+"/kernel", g.kh, g.kw, g.cin, c.Filters)
	rf := g.kh * g.kw
	fillKernel(c.kernelInit, c.Kernel.Value, rf*g.cin, rf*c.Filters, rng)
	c.Bias = nil
	if c.UseBias {
		c.Bias = tensor.NewVariable(c.name+"/bias", c.Filters)
		fillBias(c.biasInit, c.Bias.Value, rf*g.cin, rf*c.Filters, rng)
	}
	return c.out, nil
}

// SetName renames the layer and its variables.
func (c *Conv2D) SetName(name string) {
	c.name = name
	if c.Kernel != nil {
		c.Kernel.Name = name + "/kernel"
	}
	if c.Bias != nil {
		c.Bias.Name = name + "/bias"
	}
}

// Variables returns the kernel and, with use_bias, the bias.
func (c *Conv2D) Variables() []*tensor.Variable {
	if c.Bias != nil {
		return []*tensor.Variable{c.Kernel, c.Bias}
	}
	return []*tensor.Variable{c.Kernel}
}

// tables sets up the implicit im2col: the source geometry (padded when a
// window reaches outside the input) and the offset tables pix and koff.
func (c *Conv2D) tables() error {
	g := &c.g
	// The rows and columns the windows cover, padding included.
	ph, pw := (g.outH-1)*g.sh+g.kh, (g.outW-1)*g.sw+g.kw
	c.padded = g.padT > 0 || g.padL > 0 || ph > g.inH || pw > g.inW
	if !c.padded {
		ph, pw = g.inH, g.inW
	}
	c.ph, c.pw = ph, pw
	c.srcWidth = ph * pw * g.cin
	if c.srcWidth > math.MaxInt32 {
		return fmt.Errorf("Conv2D %q: a sample of %d×%d×%d cells is too large", c.name, ph, pw, g.cin)
	}
	pix := make([]int32, g.pixels())
	for q := range pix {
		pix[q] = int32(((q/g.outW)*g.sh*pw + (q%g.outW)*g.sw) * g.cin)
	}
	koff := make([]int32, c.k)
	for i := 0; i < g.kh; i++ {
		for j := 0; j < g.kw; j++ {
			for ch := 0; ch < g.cin; ch++ {
				koff[(i*g.kw+j)*g.cin+ch] = int32((i*pw+j)*g.cin + ch)
			}
		}
	}
	c.win = kernels.NewWindows(pix, koff, nil)

	return nil
}

// padSample copies sample xs into dst (srcWidth floats, whose border is
// zeros and stays so), placing input cell (h, w) at (h+padT, w+padL) and
// dropping the cells no window reaches.
func (c *Conv2D) padSample(dst, xs []float32) {
	g := &c.g
	hn, wn := min(g.inH, c.ph-g.padT), min(g.inW, c.pw-g.padL)
	for h := 0; h < hn; h++ {
		o := ((h+g.padT)*c.pw + g.padL) * g.cin
		copy(dst[o:o+wn*g.cin], xs[h*g.inW*g.cin:])
	}
}

// source returns the samples s0 … s1 of x as the kernels read them, sample
// s at (s−lo)·srcWidth of src: x itself, or their padded copies in xpad
// (made unless xpad holds them already).
func (c *Conv2D) source(x []float32, s0, s1 int) (src []float32, lo int) {
	if !c.padded {
		return x, 0
	}
	if s0 >= c.padLo && s1 < c.padLo+c.padN {
		return c.xpad, c.padLo
	}
	for s := s0; s <= s1; s++ {
		c.padSample(c.xpad[(s-s0)*c.srcWidth:(s-s0+1)*c.srcWidth], x[s*c.inWidth:(s+1)*c.inWidth])
	}
	c.padLo, c.padN = s0, s1-s0+1
	return c.xpad, s0
}

// runs calls fn for the output pixels of n samples of x in order, in runs
// within one sample: pixels q0 … q1−1 of the sample whose source is xs,
// the first being output row r (over the batch). It goes chunk by chunk,
// each chunk's samples copied into xpad (when padded) unless they are
// there already.
func (c *Conv2D) runs(x []float32, n int, fn func(xs []float32, r, q0, q1 int)) {
	p := c.g.pixels()
	rows := n * p
	slots := n
	if c.padded {
		slots = len(c.xpad) / c.srcWidth
	}
	for r0 := 0; r0 < rows; {
		s0 := r0 / p
		r1 := min(r0+c.chunk, rows, (s0+slots)*p)
		src, lo := c.source(x, s0, (r1-1)/p)
		for r := r0; r < r1; {
			s, q0 := r/p, r%p
			q1 := min(p, r1-s*p)
			fn(src[(s-lo)*c.srcWidth:(s-lo+1)*c.srcWidth], r, q0, q1)
			r += q1 - q0
		}
		r0 = r1
	}
}

// Allocate sizes the training buffers: after it, a training step
// allocates nothing.
func (c *Conv2D) Allocate(maxBatch int, needInputGrad bool) {
	c.allocate(maxBatch, needInputGrad, true)
}

// allocate is Allocate; without full, it leaves out the batch's
// (pixels × filters) arrays and the padded copies, which only Forward
// and Backward use (a fused layer, see fused.go, keeps a sample's at a
// time), and the sparse path's scratch (it must not be taken).
func (c *Conv2D) allocate(maxBatch int, needInputGrad, full bool) {
	f, k := c.Filters, c.k
	p := c.g.pixels()
	rows := maxBatch * p
	c.z, c.y, c.dz = nil, nil, nil
	if full {
		c.z = make([]float32, rows*f)
		c.y = make([]float32, rows*f)
		c.dz = make([]float32, rows*f)
	}
	c.mask = nil
	if c.relu() {
		c.mask = make([]uint8, rows*kernels.MaskStride(f))
	}
	c.chunk = max(1, min(rows, maxListEntries/k))
	c.kept, c.sparse = false, false
	c.xpad, c.padN = nil, 0
	if c.padded && full {
		// A run of chunk pixels covers at most (chunk−1)/p + 2 samples.
		c.xpad = make([]float32, min(maxBatch, (c.chunk-1)/p+2)*c.srcWidth)
	}
	c.pl, c.gpad, c.iota, c.ones = nil, nil, nil, nil
	if k >= sparseMinK && full { // the sparse path's scratch
		c.pl = c.newLists(c.chunk)
		c.gpad = kernels.AlignedFloats(k * padStride(f))
		c.iota = strided(rows, 1)
		c.ones = make([]float32, rows)
		for i := range c.ones {
			c.ones[i] = 1
		}
	}
	c.gdx = needInputGrad
	c.dx, c.wt, c.fidx, c.fval, c.dcol = nil, nil, nil, nil, nil
	if needInputGrad {
		c.dx = make([]float32, maxBatch*c.inWidth)
		c.wt = make([]float32, f*k)
		c.fidx = make([]int32, f+kernels.Pad)
		c.fval = make([]float32, f+kernels.Pad)
		c.dcol = make([]float32, k)
	}
	c.group = gradGroupSize(maxBatch, k, f)
	c.gpart = make([]float32, (maxBatch+c.group-1)/c.group*(k+1)*f)
	c.allocThreads()
	c.acts.prepare()
}

// addTo adds src to dst element by element.
func addTo(dst, src []float32) {
	// dst += 1·src through kernels.AccumRows, on vectors: 1·v is v, so
	// the sums are the plain loop's (Keras' mnist_convnet spent 12% of its
	// step in that loop, in scatterPatch).
	kernels.AccumRows(dst, src[:len(dst)], 0, zeroIdx[:], oneVal[:])
}

// zeroIdx and oneVal make kernels.AccumRows add one row, unscaled.
var (
	zeroIdx = [1]int32{0}
	oneVal  = [1]float32{1}
)

// gradGroupSize is how many samples the dense path sums into one partial
// kernel gradient before the partials are added in order: 8, or more when
// a batch would otherwise need more than 16 partials of over 2¹⁸ floats in
// all. It depends on sizes only, never on the number of threads, so the
// gradient is the same for every thread count.
func gradGroupSize(maxBatch, k, f int) int {
	groups := max(1, min(16, (1<<18)/((k+1)*f)))
	return max(8, (maxBatch+groups-1)/groups)
}

// patchLists holds the patches of a run of output pixels as lists of
// their non-zero inputs: pixel q of the run has idx, val[start[q]:start[q+1]],
// in increasing kernel index k = (i·kw + j)·C + c. bits marks the non-zero
// inputs of one sample (bitSample; −1 for none yet), when the layer lists
// patches through bits (see Conv2D.useBits): bit t of bits[h·rowWords:] is
// element t of input row h (column t/C, channel t%C).
type patchLists struct {
	idx       []int32
	val       []float32
	start     []int
	bits      []uint64
	bitSample int
}

// useBits reports whether a kernel row's window (kw·C inputs) fits one
// 64-bit word: patches are then listed from per-row bit sets of the
// non-zero inputs, at a cost that grows with the non-zero inputs only.
func (c *Conv2D) useBits() bool { return c.g.kw*c.g.cin <= 64 }

// rowWords is the number of words of one input row's bit set, with a
// spare word so that any 64-bit window can be read from two words.
func (c *Conv2D) rowWords() int { return (c.g.inW*c.g.cin+63)/64 + 1 }

// newLists allocates patch lists for runs of up to rows output pixels.
func (c *Conv2D) newLists(rows int) *patchLists {
	pl := &patchLists{idx: make([]int32, rows*c.k+kernels.Pad), val: make([]float32, rows*c.k+kernels.Pad),
		start: make([]int, rows+1), bitSample: -1}
	if n := c.bitsLen(); n > 0 {
		pl.bits = make([]uint64, n)
	}
	return pl
}

// bitsLen is the length of patchLists.bits: one sample's bit sets, or 0
// when the layer does not use them.
func (c *Conv2D) bitsLen() int {
	if !c.useBits() {
		return 0
	}
	return c.g.inH * c.rowWords()
}

// setBits marks the non-zero inputs of sample xs in pl.bits (NaN counts as
// non-zero, -0 as zero, as kernels.NonZero counts them).
func (c *Conv2D) setBits(pl *patchLists, xs []float32) {
	rw, rl := c.rowWords(), c.g.inW*c.g.cin
	clear(pl.bits)
	for h := 0; h < c.g.inH; h++ {
		b := pl.bits[h*rw : (h+1)*rw]
		for t, v := range xs[h*rl : (h+1)*rl] {
			if v != 0 {
				b[t>>6] |= 1 << (t & 63)
			}
		}
	}
}

// patch lists the non-zero inputs of the window whose top-left cell is at
// input row h0, column w0 (negative inside the padding) of sample xs into
// idx and val, in increasing kernel index, and returns their number. idx
// and val must have room for c.k + kernels.Pad entries; nz, if not nil,
// are the sample's bit sets (patchLists.bits, see setBits).
func (c *Conv2D) patch(idx []int32, val []float32, xs []float32, nz []uint64, h0, w0 int) int {
	g := &c.g
	cin, kw, inW := g.cin, g.kw, g.inW
	jlo, jhi := max(0, -w0), min(kw, inW-w0)
	ilo, ihi := max(0, -h0), min(g.kh, g.inH-h0)
	cnt := 0
	if nz != nil {
		rw := c.rowWords()
		b := (w0 + jlo) * cin // the window's first bit in its rows
		word, off := b>>6, uint(b&63)
		mask := ^uint64(0) >> (64 - uint((jhi-jlo)*cin))
		for i := ilo; i < ihi; i++ {
			row := nz[(h0+i)*rw+word : (h0+i)*rw+word+2]
			v := row[0] >> off
			if off != 0 {
				v |= row[1] << (64 - off)
			}
			v &= mask
			if v == 0 {
				continue
			}
			lo := ((h0+i)*inW + w0 + jlo) * cin
			k0 := int32((i*kw + jlo) * cin)
			for ; v != 0; v &= v - 1 {
				t := bits.TrailingZeros64(v)
				idx[cnt], val[cnt] = k0+int32(t), xs[lo+t]
				cnt++
			}
		}
		return cnt
	}
	for i := ilo; i < ihi; i++ {
		// The window's columns in input row h0+i are one contiguous run of
		// the sample and of the patch.
		lo := ((h0+i)*inW + w0 + jlo) * cin
		span := xs[lo : lo+(jhi-jlo)*cin]
		k0 := int32((i*kw + jlo) * cin)
		m := kernels.NonZero(idx[cnt:], val[cnt:], span, nil, 0)
		for t := cnt; t < cnt+m; t++ {
			idx[t] += k0
		}
		cnt += m
	}
	return cnt
}

// lists fills pl with the patches of output pixels [r0, r1) of x, counted
// over all samples (r = sample·pixels + oh·outW + ow); pixel r is entry
// r−r0 of pl.
func (c *Conv2D) lists(pl *patchLists, x []float32, r0, r1 int) {
	g := &c.g
	smp, p := r0/g.pixels(), r0%g.pixels()
	oh, ow := p/g.outW, p%g.outW
	s := 0
	for r := r0; r < r1; {
		xs := x[smp*c.inWidth : (smp+1)*c.inWidth]
		var nz []uint64
		if pl.bits != nil {
			if pl.bitSample != smp {
				c.setBits(pl, xs)
				pl.bitSample = smp
			}
			nz = pl.bits
		}
		for ; r < r1 && oh < g.outH; r++ {
			pl.start[r-r0] = s
			s += c.patch(pl.idx[s:], pl.val[s:], xs, nz, oh*g.sh-g.padT, ow*g.sw-g.padL)
			if ow++; ow == g.outW {
				ow = 0
				oh++
			}
		}
		oh = 0
		smp++
	}
	pl.start[r1-r0] = s
}

// initRow sets a pixel's outputs to the bias (or zeros).
func (c *Conv2D) initRow(zr []float32) {
	if c.Bias != nil {
		copy(zr, c.Bias.Value)
	} else {
		clear(zr)
	}
}

// accum writes the logits of output pixels [r0, r1) into z (z[0:] is
// pixel r0) from their patch lists: bias plus the kernel rows of the
// non-zero inputs, scaled, in increasing k.
func (c *Conv2D) accum(z []float32, pl *patchLists, r0, r1 int) {
	idx, val, start := pl.idx, pl.val, pl.start
	f := c.Filters
	w := c.Kernel.Value
	m := r1 - r0
	q := 0
	for ; q+1 < m; q += 2 {
		// Two pixels at a time: their sums are independent.
		z0, z1 := z[q*f:(q+1)*f], z[(q+1)*f:(q+2)*f]
		c.initRow(z0)
		c.initRow(z1)
		a, b, e := start[q], start[q+1], start[q+2]
		kernels.AccumRows2(z0, z1, w, f, idx[a:b], val[a:b], idx[b:e], val[b:e])
	}
	if q < m {
		zr := z[q*f : (q+1)*f]
		c.initRow(zr)
		a, b := start[q], start[q+1]
		kernels.AccumRows(zr, w, f, idx[a:b], val[a:b])
	}
}

// sparseDensity and sparseMinK choose the sparse path: an input with
// fewer than 1 in sparseDensity non-zero values, into a layer whose
// windows hold at least sparseMinK values. BenchmarkConv2DDensity places
// them: the sparse path is 20% faster for k = 576 at 1% density and 12% at
// 3%, and as fast at 6%; for k = 144 it wins only at 1% (by 11%), and for
// k = 9 (MNIST) it is 5 to 10 times slower at any density.
const (
	sparseDensity = 32
	sparseMinK    = 256
)

// useSparse reports whether the input x (whole samples) takes the sparse
// path. It depends on the values only, never on the kernel level.
func (c *Conv2D) useSparse(x []float32) bool {
	if c.k < sparseMinK {
		return false
	}
	nz := 0
	for _, v := range x {
		if v != 0 {
			nz++
		}
	}
	return nz*sparseDensity < len(x)
}

// relu reports whether the activation is relu, which the dense kernels
// apply themselves.
func (c *Conv2D) relu() bool { return c.act.Name == "relu" }

// bias returns the bias values, or nil without a bias.
func (c *Conv2D) bias() []float32 {
	if c.Bias == nil {
		return nil
	}
	return c.Bias.Value
}

// sub returns s[lo:hi], or nil for a nil s.
func sub(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// forward computes the logits (into z, if not nil) and, if y is not nil,
// their relu and its mask (dense path only) for n samples, on the sparse
// path if sparse (then z must not be nil), and records what Backward
// needs.
func (c *Conv2D) forward(x []float32, n int, z, y []float32, sparse bool) {
	f := c.Filters
	rows := n * c.g.pixels()
	c.x, c.n = x, n
	c.zStale = z == nil
	c.sparse = sparse
	if c.sparse {
		c.pl.bitSample = -1 // x holds new values
		for r0 := 0; r0 < rows; r0 += c.chunk {
			r1 := min(r0+c.chunk, rows)
			c.lists(c.pl, x, r0, r1)
			c.accum(z[r0*f:r1*f], c.pl, r0, r1)
		}
		c.kept = rows <= c.chunk
		return
	}
	c.padN = 0 // x holds new values
	if parts := c.forwardParts(n); parts > 1 {
		c.forwardThreads(x, n, z, y, parts)
		return
	}
	w, b := c.Kernel.Value, c.bias()
	var mask []uint8
	if y != nil {
		mask = c.mask
	}
	ms := kernels.MaskStride(f)
	c.runs(x, n, func(xs []float32, r, q0, q1 int) {
		e := r + q1 - q0
		var m []uint8
		if mask != nil {
			m = mask[r*ms : e*ms]
		}
		kernels.ConvForward(sub(z, r*f, e*f), sub(y, r*f, e*f), m, xs, c.win, q0, q1, w, f, b)
	})
	c.kept = !c.padded || rows <= c.chunk
}

// Forward computes activation(conv(x) + b) for n samples and keeps what
// Backward needs.
func (c *Conv2D) Forward(x []float32, n int, training bool) []float32 {
	rows := n * c.g.pixels()
	sparse := c.useSparse(x[:n*c.inWidth])
	if c.relu() && !sparse {
		c.forward(x, n, nil, c.y, false) // relu(logits) only, see Logits
		return c.y[:rows*c.Filters]
	}
	c.forward(x, n, c.z, nil, sparse)
	if c.act.Name == "linear" {
		return c.z[:rows*c.Filters] // no copy: the logits are the output
	}
	c.acts.forward(c.tp, c.act, c.y, c.z, rows, c.Filters)
	return c.y[:rows*c.Filters]
}

// ForwardLogits is Forward without the activation; it returns conv(x) + b
// (see LogitsForwarder).
func (c *Conv2D) ForwardLogits(x []float32, n int) []float32 {
	c.forward(x, n, c.z, nil, c.useSparse(x[:n*c.inWidth]))
	return c.z[:n*c.g.pixels()*c.Filters]
}

// Logits returns conv(x) + b from the last Forward. A relu layer's
// Forward does not store them (only a loss on the logits of a model's last
// layer reads them), so they are computed on the first call, from the
// input, which must not have changed since.
func (c *Conv2D) Logits() []float32 {
	if c.zStale {
		f := c.Filters
		w, b := c.Kernel.Value, c.bias()
		c.runs(c.x, c.n, func(xs []float32, r, q0, q1 int) {
			kernels.ConvForward(c.z[r*f:(r+q1-q0)*f], nil, nil, xs, c.win, q0, q1, w, f, b)
		})
		c.zStale = false
	}
	return c.z
}

// Backward applies the activation's derivative, then BackwardLogits; for a
// relu layer that needs no input gradient (a model's first layer) the
// kernel gradient applies relu's derivative, from the mask Forward kept,
// as it reads dy.
func (c *Conv2D) Backward(dy []float32, n int) []float32 {
	rows := n * c.g.pixels()
	if c.relu() && !c.gdx && !c.sparse {
		c.gradients(dy, c.mask, n)
		return nil
	}
	if c.act.Name == "linear" {
		return c.BackwardLogits(dy, n) // dLoss/dLogits is dy; BackwardLogits only reads it
	}
	c.acts.backward(c.tp, c.act, c.dz, c.y, dy, rows, c.Filters)
	return c.BackwardLogits(c.dz, n)
}

// gradients computes the kernel gradient dW[k,:] = Σ_pixels patch[k]·d[pixel,:]
// (over the pixels in increasing order) and the bias gradient
// Σ_pixels d[pixel,:], where d is dz, or, if mask is not nil, dz where
// relu's mask is set and 0 elsewhere (relu's derivative; dense path only).
func (c *Conv2D) gradients(dz []float32, mask []uint8, n int) {
	f, k := c.Filters, c.k
	rows := n * c.g.pixels()
	if c.sparse {
		ps := padStride(f)
		// gpad is all zeros between calls: CopyRows clears what it copies.
		c.pl.bitSample = -1
		for r0 := 0; r0 < rows; r0 += c.chunk {
			r1 := min(r0+c.chunk, rows)
			if !c.kept {
				c.lists(c.pl, c.x, r0, r1)
			}
			kernels.ScatterBatch(c.gpad, ps, c.pl.idx, c.pl.val, c.pl.start[:r1-r0+1], dz[r0*f:r1*f])
		}
		kernels.CopyRows(c.Kernel.Grad, f, c.gpad, ps, k, f, true)
		if c.Bias != nil {
			gb := c.Bias.Grad
			clear(gb)
			kernels.AccumRows(gb, dz, f, c.iota[:rows], c.ones[:rows]) // gb += 1·dz[r,:], r = 0..rows-1
		}
		return
	}
	// The samples are summed in groups of c.group: group g's partial sums
	// (over its samples' pixels in order) go to gpart, then the partials
	// are added in group order. Threads take whole groups, so every thread
	// count adds the same numbers in the same order.
	groups := (n + c.group - 1) / c.group
	kf := (k + 1) * f
	if !c.gradThreads(dz, mask, n) {
		clear(c.gpart[:groups*kf])
		if !c.kept {
			c.padN = 0 // copy the samples again, chunk by chunk
		}
		ms := kernels.MaskStride(f)
		c.runs(c.x, n, func(xs []float32, r, q0, q1 int) {
			e := r + q1 - q0
			var m []uint8
			if mask != nil {
				m = mask[r*ms : e*ms]
			}
			g := c.gpart[r/c.g.pixels()/c.group*kf:]
			var gb []float32
			if c.Bias != nil {
				gb = g[k*f : kf]
			}
			kernels.ConvGrad(g[:k*f], gb, xs, c.win, q0, q1, dz[r*f:e*f], m, f)
		})
	}
	c.sumGroups(groups)
}

// groupPartial returns group g's partial kernel and bias gradients in
// gpart (gb nil without a bias): each group holds k·f kernel sums, then f
// bias sums.
func (c *Conv2D) groupPartial(g int) (gk, gb []float32) {
	kf := (c.k + 1) * c.Filters
	part := c.gpart[g*kf : (g+1)*kf]
	if c.Bias != nil {
		gb = part[c.k*c.Filters:]
	}
	return part[:c.k*c.Filters], gb
}

// sumGroups sets the kernel and bias gradients to the sum of the partials
// of groups groups in gpart, added in group order.
func (c *Conv2D) sumGroups(groups int) {
	for g := range groups {
		pk, pb := c.groupPartial(g)
		if g == 0 {
			copy(c.Kernel.Grad, pk)
			if pb != nil {
				copy(c.Bias.Grad, pb)
			}
			continue
		}
		addTo(c.Kernel.Grad, pk)
		if pb != nil {
			addTo(c.Bias.Grad, pb)
		}
	}
}

// BackwardLogits computes, from dz = dLoss/dLogits of the last Forward's
// n samples, the kernel and bias gradients (see gradients) and, if needed,
// dLoss/dx: each pixel's patch gradient dz[pixel,:]·Wᵀ added back onto the
// input cells its window covers.
func (c *Conv2D) BackwardLogits(dz []float32, n int) []float32 {
	f := c.Filters
	rows := n * c.g.pixels()
	c.gradients(dz, nil, n)
	if !c.gdx {
		return nil
	}
	c.transposeKernel()
	dx := c.dx[:n*c.inWidth]
	if c.dxThreads(dz, n) {
		return dx
	}
	clear(dx)
	for r := 0; r < rows; r++ {
		c.dxPixel(dx, dz[r*f:(r+1)*f], nil, r, c.fidx, c.fval, c.dcol)
	}
	return dx
}

// transposeKernel sets wt, the kernel as a filters × k matrix, for
// dxPixel.
func (c *Conv2D) transposeKernel() {
	kernels.Transpose(c.wt, c.k, c.Kernel.Value, c.Filters, c.k, c.Filters)
}

// dxPixel adds output pixel r's patch gradient d·Wᵀ, from d = its row of
// dLoss/dLogits (or of dLoss/dy with mask, the row's relu bits: the
// filters whose bit is clear are left out), onto dx (see scatterPatch),
// with scratch fidx, fval (filters + kernels.Pad entries) and dcol (k
// floats); wt must be set.
func (c *Conv2D) dxPixel(dx, d []float32, mask []uint8, r int, fidx []int32, fval, dcol []float32) {
	m := kernels.NonZero(fidx, fval, d, nil, 0)
	if mask != nil {
		// relu's derivative: keep the filters whose bit is set (the
		// lists stay in increasing order, so the sums do not change).
		k := 0
		for i, j := range fidx[:m] {
			if mask[j>>3]>>(j&7)&1 != 0 {
				fidx[k], fval[k] = j, fval[i]
				k++
			}
		}
		m = k
	}
	if m == 0 {
		return
	}
	clear(dcol)
	kernels.AccumRows(dcol, c.wt, c.k, fidx[:m], fval[:m])
	c.scatterPatch(dx, dcol, r)
}

// scatterPatch adds a patch gradient d (length c.k) onto the input cells
// of output pixel r's window in dx (cells in the padding are dropped).
func (c *Conv2D) scatterPatch(dx, d []float32, r int) {
	g := &c.g
	p := g.pixels()
	h0, w0 := g.origin(r % p)
	jlo, jhi := g.cols(w0)
	xs := dx[(r/p)*c.inWidth:]
	for i := max(0, -h0); i < min(g.kh, g.inH-h0); i++ {
		lo := ((h0+i)*g.inW + w0 + jlo) * g.cin
		span := xs[lo : lo+(jhi-jlo)*g.cin]
		addTo(span, d[(i*g.kw+jlo)*g.cin:])
	}
}

// convScratch is Infer's scratch: one padded sample (dense path) or patch
// lists (sparse path), made when first needed.
type convScratch struct {
	pad []float32
	pl  *patchLists
}

// scratch returns scratch for Infer from the pool (Conv2D keeps one, so
// concurrent Infer calls share nothing and allocate nothing once it is
// warm).
func (c *Conv2D) scratch() *convScratch {
	if sc, ok := c.pool.Get().(*convScratch); ok {
		return sc
	}
	return &convScratch{}
}

// infer writes the logits (into z, if not nil) and, if y is not nil, their
// relu for n samples of x; it keeps no state.
func (c *Conv2D) infer(z, y, x []float32, n int, sparse bool) {
	f := c.Filters
	p := c.g.pixels()
	sc := c.scratch()
	defer c.pool.Put(sc)
	if sparse {
		if sc.pl == nil || len(sc.pl.idx) < inferChunk*c.k+kernels.Pad || len(sc.pl.bits) != c.bitsLen() {
			sc.pl = c.newLists(inferChunk)
		}
		pl := sc.pl
		pl.bitSample = -1
		rows := n * p
		for r0 := 0; r0 < rows; r0 += inferChunk {
			r1 := min(r0+inferChunk, rows)
			c.lists(pl, x, r0, r1)
			c.accum(z[r0*f:r1*f], pl, r0, r1)
		}
		return
	}
	if c.padded && len(sc.pad) != c.srcWidth {
		sc.pad = make([]float32, c.srcWidth)
	}
	w, b := c.Kernel.Value, c.bias()
	for s := 0; s < n; s++ {
		xs := x[s*c.inWidth : (s+1)*c.inWidth]
		if c.padded {
			c.padSample(sc.pad, xs)
			xs = sc.pad
		}
		lo, hi := s*p*f, (s+1)*p*f
		kernels.ConvForward(sub(z, lo, hi), sub(y, lo, hi), nil, xs, c.win, 0, p, w, f, b)
	}
}

// InferLogits writes conv(x) + b for n samples into dst; it keeps no state.
func (c *Conv2D) InferLogits(dst, x []float32, n int) {
	c.infer(dst, nil, x, n, c.useSparse(x[:n*c.inWidth]))
}

// Infer writes activation(conv(x) + b) for n samples into dst.
func (c *Conv2D) Infer(dst, x []float32, n int) {
	sparse := c.useSparse(x[:n*c.inWidth])
	if c.relu() && !sparse {
		c.infer(nil, dst, x, n, false)
		return
	}
	c.infer(dst, nil, x, n, sparse)
	c.act.Forward(dst, dst, n*c.g.pixels(), c.Filters)
}

// Config returns Keras 2's Conv2D get_config() keys.
func (c *Conv2D) Config() map[string]any {
	return map[string]any{
		"name": c.name, "trainable": true, "dtype": "float32",
		"filters": c.Filters, "kernel_size": []int{c.KernelSize[0], c.KernelSize[1]}, "strides": []int{c.Strides[0], c.Strides[1]},
		"padding": c.Padding, "data_format": "channels_last", "dilation_rate": []int{1, 1}, "groups": 1,
		"activation": c.act.Name, "use_bias": c.UseBias,
		"kernel_initializer":   map[string]any{"class_name": initClass(c.kernelInit, "GlorotUniform"), "config": map[string]any{"seed": nil}},
		"bias_initializer":     map[string]any{"class_name": initClass(c.biasInit, "Zeros"), "config": map[string]any{}},
		"kernel_regularizer":   nil,
		"bias_regularizer":     nil,
		"activity_regularizer": nil,
		"kernel_constraint":    nil,
		"bias_constraint":      nil,
	}
}

func init() {
	Register(Spec{
		Class: "Conv2D",
		Doc:   "a 2-D convolution over images (height, width, channels): activation(conv(x, kernel) + bias)",
		Args: []schema.Arg{
			{Name: "filters", Kind: schema.Int, Required: true, Doc: "a positive integer", Valid: schema.Positive},
			{Name: "kernel_size", Kind: schema.Pair, Required: true, Doc: "an integer or a list of two integers, e.g. 3 or [3, 3]", Valid: schema.PositivePair},
			{Name: "strides", Kind: schema.Pair, Default: [2]int{1, 1}, Doc: "an integer or a list of two integers, e.g. 3 or [3, 3]", Valid: schema.PositivePair},
			{Name: "padding", Kind: schema.String, Default: "valid", Doc: "valid or same"},
			activationArg("linear", false),
			{Name: "use_bias", Kind: schema.Bool, Default: true, Doc: "true or false"},
			initializerArg("kernel_initializer", "glorot_uniform"),
			initializerArg("bias_initializer", "zeros"),
		},
		New: func(a schema.Values) (Layer, error) {
			st := a.Pair("strides")
			opts := []Option{WithStrides(st[0], st[1]), WithPadding(a.String("padding")), WithActivation(a.String("activation")),
				WithKernelInitializer(a.String("kernel_initializer")), WithBiasInitializer(a.String("bias_initializer"))}
			if !a.Bool("use_bias") {
				opts = append(opts, WithoutBias())
			}
			return NewConv2D(a.Int("filters"), a.Pair("kernel_size"), opts...)
		},
		Keras: func(k *KerasConfig) error {
			if err := k.ChannelsLast(); err != nil {
				return err
			}
			for _, key := range []string{"dilation_rate", "groups"} {
				v := k.Get(key)
				if v == nil {
					continue
				}
				if n, ok := value.Int(v); ok && n == 1 {
					continue
				}
				if l, ok := value.Ints(v); ok && len(l) == 2 && l[0] == 1 && l[1] == 1 {
					continue
				}
				return k.Errorf("%s %s; kiln's Conv2D has no %s (it must be 1)", key, value.JSON(v), strings.ReplaceAll(key, "_", " "))
			}
			return kerasWeighted(k)
		},
		Positional:   4,
		Aliases:      map[string]string{"border_mode": "padding", "subsample": "strides", "init": "kernel_initializer", "nb_filter": "filters"},
		Example:      map[string]any{"filters": 2, "kernel_size": []any{3, 2}, "strides": 2, "padding": "same", "activation": "relu"},
		ExampleInput: []int{7, 7, 3},
	})
}
