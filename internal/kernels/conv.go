package kernels

//go:generate sh -c "cd _asm/conv && go run . -out ../../conv_amd64.s -stubs ../../conv_stubs_amd64.go -dispatch ../../conv_dispatch_amd64.go -pkg kernels"

// Convolution and max-pooling kernels.
//
// A 2-D convolution over one channels_last sample is a matrix product
// z = A·W whose left operand A (one row per output pixel, one column per
// kernel position kk = (i·kw + j)·C + c) is the im2col matrix. These
// kernels never build A: they read it through two offset tables (implicit
// im2col), A[q][kk] = x[pix[q] + koff[kk]], where pix[q] is the offset of
// output pixel q's window and koff[kk] the offset of kernel position kk
// within a window. The layer pads the sample into a buffer first when its
// windows reach into the padding, so every window is whole.
//
// The vector versions run across the filters (a row of W, a row of z), so
// each output element is a scalar sum computed in the reference's order:
// the products are rounded to float32 and added in increasing kk (forward)
// or increasing q (gradients), with no FMA. The results are therefore
// bit-identical at every level.
//
// Measured on the 2-core EPYC VM (Zen 5, family 26: 512-bit vector units,
// so a 256-bit instruction does half an AVX-512 one's work at the same
// rate) with Conv2D(32, 3×3) over a 28×28 sample: both levels are bound by
// the products, 36 256-bit multiplications a pixel against 18 512-bit
// ones, two a cycle either way, and by the additions that keep them
// separate. So AVX2 takes about twice as long (BenchmarkConvForward 5.2
// against 2.9 µs, BenchmarkConvGrad 5.1 against 2.6 µs, medians), and
// that ratio is the hardware's. AVX2 has 16 registers: its gradient passes keep
// 2 vectors × 5 kernel rows (four passes over the pixels for 32 filters ×
// 9 rows), take relu's mask lanes from an 8 KB table (one AND a vector)
// and read the kernel rows through pointers held in registers.
//
// The pooling kernels compare indices with a table of candidates (cells[t]
// + lane, built by the wrapper on its stack) so that a cell costs a load,
// a compare and a blend; 2×2 and 3×3 windows are unrolled. A layer pools a
// whole batch's activations after the convolution has written them all
// (11 MB for 128 MNIST samples), so they come from memory: the unrolled
// kernels prefetch ahead, which halved MaxPool there, and what is left is
// the memory traffic (a 26×26×32 sample: 86 KB read, 43 KB written), which
// only a layer that pooled each sample while its activations were still
// in the caches would avoid.

// Windows is a set of windows over one sample, as the convolution and
// pooling kernels read it: window q starts at offset Pix[q] of the sample
// and its cells are at offsets Cells[t] from there; Out[q], if not nil, is
// where window q's outputs go (pooling). NewWindows checks the tables once,
// so the kernels check only the lengths of their slices against the
// offsets' maxima.
type Windows struct {
	pix, cells, out []int32
	reach           int // 1 + max(pix) + max(cells)
	outReach        int // 1 + max(out)
}

// NewWindows returns the windows pix, cells and (optionally) out, or
// panics if an offset is negative or a table is empty. The tables must not
// change afterwards.
func NewWindows(pix, cells, out []int32) *Windows {
	if len(pix) == 0 || len(cells) == 0 || (out != nil && len(out) != len(pix)) {
		panic("kernels.NewWindows: empty or mismatched tables")
	}
	top := func(s []int32) int {
		m := s[0]
		for _, v := range s {
			if v < 0 {
				panic("kernels.NewWindows: negative offset")
			}
			m = max(m, v)
		}
		return int(m)
	}
	w := &Windows{pix: pix, cells: cells, out: out, reach: 1 + top(pix) + top(cells)}
	if out != nil {
		w.outReach = 1 + top(out)
	}
	return w
}

// Len is the number of windows.
func (w *Windows) Len() int { return len(w.pix) }

// Reach is the smallest sample length the windows fit in.
func (w *Windows) Reach() int { return w.reach }

// MaskStride is the number of bytes a pixel's relu mask takes in
// ConvForward's and ConvGrad's mask for f filters: a bit per filter, in
// 32-bit words.
func MaskStride(f int) int { return 4 * ((f + 31) / 32) }

// ConvForward computes the logits of a convolution, and optionally their
// relu and its mask, for windows q0 … q1−1 of one sample x (win's cells
// are the kernel positions kk): for each q and j < f, with row r = q − q0,
//
//	s := float32(0) // bias[j] if bias is not nil
//	for kk, o := range cells {
//		s += float32(x[pix[q]+o] * w[kk*f+j])
//	}
//	z[r*f+j] = s             // if z is not nil
//	y[r*f+j] = max(s, +0)    // if y is not nil: s if s > 0, else +0 (Relu)
//	bit j%8 of mask[r*MaskStride(f)+j/8] = s > 0 // if mask is not nil
//
// w is the (len(cells), f) kernel, row-major. The mask's bits past f are
// cleared.
func ConvForward(z, y []float32, mask []uint8, x []float32, win *Windows, q0, q1 int, w []float32, f int, bias []float32) {
	n, k := q1-q0, len(win.cells)
	if n <= 0 {
		return
	}
	if f <= 0 || q1 > len(win.pix) || q0 < 0 || len(x) < win.reach || len(w) < k*f || (z == nil && y == nil && mask == nil) ||
		(z != nil && len(z) < n*f) || (y != nil && len(y) < n*f) || (mask != nil && len(mask) < n*MaskStride(f)) ||
		(bias != nil && len(bias) < f) {
		panic("kernels.ConvForward: bad shapes")
	}
	pix := win.pix[q0:q1]
	if mask != nil {
		clear(mask[:n*MaskStride(f)]) // the bits past f, which the blocks may not write
	}
	if convForwardArch(z, y, mask, x, pix, win.cells, w, f, bias) {
		return
	}
	refConvForward(z, y, mask, x, pix, win.cells, w, f, bias)
}

// ConvGrad adds the kernel and bias gradients of windows q0 … q1−1 of one
// sample x to g and gb: with d = dz, masked by relu's derivative (a mask
// from ConvForward) if mask is not nil, and row r = q − q0,
//
//	for q := q0; q < q1; q++ {
//		for j := 0; j < f; j++ {
//			d := dz[r*f+j]
//			if mask != nil && mask[r*MaskStride(f)+j/8]>>(j%8)&1 == 0 {
//				d = 0
//			}
//			if gb != nil {
//				gb[j] += d
//			}
//			for kk, o := range cells {
//				g[kk*f+j] += float32(x[pix[q]+o] * d)
//			}
//		}
//	}
//
// Every element receives its terms in increasing q, after the value it
// held, so calls over consecutive runs of windows (or samples) add up to
// one call over all of them. g is (len(cells), f), row-major.
func ConvGrad(g, gb, x []float32, win *Windows, q0, q1 int, dz []float32, mask []uint8, f int) {
	n, k := q1-q0, len(win.cells)
	if n <= 0 {
		return
	}
	if f <= 0 || q1 > len(win.pix) || q0 < 0 || len(x) < win.reach || len(g) < k*f || len(dz) < n*f ||
		(mask != nil && len(mask) < n*MaskStride(f)) || (gb != nil && len(gb) < f) {
		panic("kernels.ConvGrad: bad shapes")
	}
	pix := win.pix[q0:q1]
	if convGradArch(g, gb, x, pix, win.cells, dz, mask, f) {
		return
	}
	refConvGrad(g, gb, x, pix, win.cells, dz, mask, f)
}

// MaxPool takes window maxima over one channels_last sample x with c
// channels: window q (whose c outputs go to y[out[q]:]) is the channel-wise
// maximum of the cells x[pix[q]+cells[t]:] (c values each), the first cell
// in cells' order winning ties; NaN never replaces a value (v > m is
// false) and stays if it comes first. If arg is not nil it receives the
// index in x of each maximum:
//
//	for q := range pix {
//		for ch := 0; ch < c; ch++ {
//			a := pix[q] + cells[0] + ch
//			m := x[a]
//			for _, o := range cells[1:] {
//				if v := x[pix[q]+o+ch]; v > m {
//					m, a = v, pix[q]+o+ch
//				}
//			}
//			y[out[q]+ch] = m
//			arg[out[q]+ch] = a // if arg is not nil
//		}
//	}
func MaxPool(y []float32, arg []int32, x []float32, win *Windows, c int) {
	if c <= 0 || win.out == nil || len(x) < win.reach+c-1 || len(y) < win.outReach+c-1 || (arg != nil && len(arg) < win.outReach+c-1) {
		panic("kernels.MaxPool: bad shapes")
	}
	if maxPoolArch(y, arg, x, win.pix, win.out, win.cells, c) {
		return
	}
	refMaxPool(y, arg, x, win.pix, win.out, win.cells, c)
}

// MaxPoolGrad is MaxPool's backward pass for windows that do not overlap:
// it writes every cell of every window, the gradient dy[out[q]+ch] where
// the cell is the window's maximum (arg, from MaxPool) and +0 elsewhere,
// as clearing dx and adding dy at the maxima would:
//
//	for q := range pix {
//		for _, o := range cells {
//			for ch := 0; ch < c; ch++ {
//				i := pix[q] + o + ch
//				dx[i] = 0
//				if arg[out[q]+ch] == i {
//					dx[i] = 0 + dy[out[q]+ch]
//				}
//			}
//		}
//	}
//
// Cells outside every window are left as they are.
func MaxPoolGrad(dx, dy []float32, arg []int32, win *Windows, c int) {
	if c <= 0 || win.out == nil || len(dx) < win.reach+c-1 || len(dy) < win.outReach+c-1 || len(arg) < win.outReach+c-1 {
		panic("kernels.MaxPoolGrad: bad shapes")
	}
	if maxPoolGradArch(dx, dy, arg, win.pix, win.out, win.cells, c) {
		return
	}
	refMaxPoolGrad(dx, dy, arg, win.pix, win.out, win.cells, c)
}

// MaxPool8 is MaxPool recording each maximum's place as the index t of its
// cell in the window (cells[t]), a byte per output, instead of its index in
// the sample: a quarter of the memory, which MaxPool writes and
// MaxPoolGrad8 reads for every output of a batch (on a convnet's
// 26×26×32 conv output, 21.6 KB less per sample each way). The window
// must have at most 256 cells. The maxima and their cells are MaxPool's
// (ties to the first cell); arg[out[q]+ch] = t where MaxPool's arg holds
// pix[q] + cells[t] + ch.
func MaxPool8(y []float32, arg []uint8, x []float32, win *Windows, c int) {
	if c <= 0 || win.out == nil || len(win.cells) > 256 || len(x) < win.reach+c-1 || len(y) < win.outReach+c-1 || len(arg) < win.outReach+c-1 {
		panic("kernels.MaxPool8: bad shapes")
	}
	if maxPool8Arch(y, arg, x, win.pix, win.out, win.cells, c) {
		return
	}
	refMaxPool8(y, arg, x, win.pix, win.out, win.cells, c)
}

// MaxPoolGrad8 is MaxPoolGrad for MaxPool8's cell indices: every cell t
// of every window gets 0 + dy[out[q]+ch] where arg[out[q]+ch] == t, +0
// elsewhere.
func MaxPoolGrad8(dx, dy []float32, arg []uint8, win *Windows, c int) {
	if c <= 0 || win.out == nil || len(win.cells) > 256 || len(dx) < win.reach+c-1 || len(dy) < win.outReach+c-1 || len(arg) < win.outReach+c-1 {
		panic("kernels.MaxPoolGrad8: bad shapes")
	}
	if maxPoolGrad8Arch(dx, dy, arg, win.pix, win.out, win.cells, c) {
		return
	}
	refMaxPoolGrad8(dx, dy, arg, win.pix, win.out, win.cells, c)
}

// MaxPool8Vector reports whether MaxPool8 and MaxPoolGrad8 run vectorised
// at the kernel level in use for windows of nc cells and c channels (2×2
// and 3×3 windows, c a multiple of the vector's lanes); otherwise they run
// the plain Go loops, slower than MaxPool's vectorised ones.
func MaxPool8Vector(nc, c int) bool { return maxPool8Vector(nc, c) }

// refBlock is how many filters the reference loops keep in a stack array.
const refBlock = 64

func refConvForward(z, y []float32, mask []uint8, x []float32, pix, koff []int32, w []float32, f int, bias []float32) {
	var acc [refBlock]float32
	ms := MaskStride(f)
	for q, p := range pix {
		for jb := 0; jb < f; jb += refBlock {
			a := acc[:min(refBlock, f-jb)]
			if bias != nil {
				copy(a, bias[jb:])
			} else {
				clear(a)
			}
			for kk, o := range koff {
				v := x[int(p)+int(o)]
				wr := w[kk*f+jb : kk*f+jb+len(a)]
				for j := range a {
					a[j] += float32(v * wr[j])
				}
			}
			o := q*f + jb
			if z != nil {
				copy(z[o:o+len(a)], a)
			}
			if y != nil {
				yr := y[o : o+len(a)]
				for j, s := range a {
					if s > 0 {
						yr[j] = s
					} else {
						yr[j] = 0
					}
				}
			}
			if mask != nil {
				m := mask[q*ms:]
				for j, s := range a {
					if s > 0 {
						m[(jb+j)/8] |= 1 << ((jb + j) % 8)
					}
				}
			}
		}
	}
}

func refConvGrad(g, gb, x []float32, pix, koff []int32, dz []float32, mask []uint8, f int) {
	var dbuf [refBlock]float32
	ms := MaskStride(f)
	for q, p := range pix {
		for jb := 0; jb < f; jb += refBlock {
			d := dbuf[:min(refBlock, f-jb)]
			o := q*f + jb
			copy(d, dz[o:o+len(d)])
			if mask != nil {
				m := mask[q*ms:]
				for j := range d {
					if m[(jb+j)/8]>>((jb+j)%8)&1 == 0 {
						d[j] = 0
					}
				}
			}
			if gb != nil {
				for j, v := range d {
					gb[jb+j] += v
				}
			}
			for kk, ko := range koff {
				v := x[int(p)+int(ko)]
				gr := g[kk*f+jb : kk*f+jb+len(d)]
				for j := range gr {
					gr[j] += float32(v * d[j])
				}
			}
		}
	}
}

func refMaxPool(y []float32, arg []int32, x []float32, pix, out, cells []int32, c int) {
	for q, p := range pix {
		yr := y[out[q] : int(out[q])+c]
		a0 := p + cells[0]
		copy(yr, x[a0:int(a0)+c])
		var ar []int32
		if arg != nil {
			ar = arg[out[q] : int(out[q])+c]
			for ch := range ar {
				ar[ch] = a0 + int32(ch)
			}
		}
		for _, o := range cells[1:] {
			at := p + o
			for ch, v := range x[at : int(at)+c] {
				if v > yr[ch] {
					yr[ch] = v
					if ar != nil {
						ar[ch] = at + int32(ch)
					}
				}
			}
		}
	}
}

func refMaxPool8(y []float32, arg []uint8, x []float32, pix, out, cells []int32, c int) {
	for q, p := range pix {
		yr := y[out[q] : int(out[q])+c]
		ar := arg[out[q] : int(out[q])+c]
		copy(yr, x[p+cells[0]:int(p+cells[0])+c])
		clear(ar)
		for t, o := range cells[1:] {
			at := p + o
			for ch, v := range x[at : int(at)+c] {
				if v > yr[ch] {
					yr[ch], ar[ch] = v, uint8(t+1)
				}
			}
		}
	}
}

func refMaxPoolGrad8(dx, dy []float32, arg []uint8, pix, out, cells []int32, c int) {
	for q, p := range pix {
		ar := arg[out[q] : int(out[q])+c]
		dr := dy[out[q] : int(out[q])+c]
		for t, o := range cells {
			cell := dx[p+o : int(p+o)+c]
			for ch := range cell {
				cell[ch] = 0
				if int(ar[ch]) == t {
					cell[ch] = 0 + dr[ch]
				}
			}
		}
	}
}

func refMaxPoolGrad(dx, dy []float32, arg []int32, pix, out, cells []int32, c int) {
	for q, p := range pix {
		ar := arg[out[q] : int(out[q])+c]
		dr := dy[out[q] : int(out[q])+c]
		for _, o := range cells {
			at := p + o
			cell := dx[at : int(at)+c]
			for ch := range cell {
				cell[ch] = 0
				if ar[ch] == at+int32(ch) {
					cell[ch] = 0 + dr[ch]
				}
			}
		}
	}
}
