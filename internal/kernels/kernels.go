package kernels

import (
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// Level is an instruction-set level the kernels can run at.
type Level int

// The levels, from the portable reference up.
const (
	Generic Level = iota // the pure-Go reference loops
	AVX2                 // amd64 AVX2 and FMA (used only where it rounds as the separate operations)
	AVX512               // amd64 AVX-512 F/BW/DQ/VL
)

// String names the level as ParseLevel reads it.
func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel returns the level named s ("generic", "avx2", "avx512").
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown kernel level %q; valid levels: generic, avx2, avx512", s)
}

// level is the level in use: the best one the CPU supports, chosen at
// start-up (see best in the arch files).
var level = best()

// Current returns the level the kernels run at.
func Current() Level { return level }

// Supported lists the levels this CPU and build can run, best last.
func Supported() []Level {
	var ls []Level
	for l := Generic; l <= best(); l++ {
		ls = append(ls, l)
	}
	return ls
}

// Use switches the kernels to level l and returns the previous level. It
// is for tests and benchmarks; it must not be called while kernels run.
func Use(l Level) (Level, error) {
	if l < Generic || l > best() {
		return level, fmt.Errorf("kernel level %s is not supported by this CPU or build (best: %s)", l, best())
	}
	prev := level
	level = l
	return prev, nil
}

// Pad is the number of spare elements NonZero and NonZeroU8 need after
// len(x) in idx and val: the SIMD versions store whole vectors (up to 16
// entries past the last one listed).
const Pad = 16

// NonZero lists the non-zero elements of x: for each k with x[k] != 0 (NaN
// counts as non-zero, -0 as zero), in increasing k, it appends k to idx and
// x[k] to val, and, if mask is not nil, sets bit in mask[k]. It returns the
// number of elements listed. idx and val must hold len(x)+Pad values; mask,
// if not nil, len(x).
//
//	c := 0
//	for k, v := range x {
//		if v != 0 {
//			idx[c], val[c] = int32(k), v
//			c++
//			if mask != nil {
//				mask[k] |= bit
//			}
//		}
//	}
func NonZero(idx []int32, val []float32, x []float32, mask []uint64, bit uint64) int {
	if len(idx) < len(x)+Pad || len(val) < len(x)+Pad || (mask != nil && len(mask) < len(x)) {
		panic("kernels.NonZero: idx, val or mask too short")
	}
	if len(x) > math.MaxInt32 {
		panic("kernels.NonZero: x too long for int32 indices")
	}
	if len(x) == 0 {
		return 0
	}
	if c, ok := nonZeroArch(idx, val, x, mask, bit); ok {
		return c
	}
	return refNonZero(idx, val, x, mask, bit)
}

// NonZeroU8 is NonZero for bytes read as float32: the value of b is
// float32(b), or lut[b] if lut is not nil. It lists, in increasing k, the
// k with src[k] != 0 and their values. That equals NonZero on the converted
// row only if a byte is zero exactly when its value is (always so without
// lut; LUTZeroExact checks a table). idx and val must hold len(src)+Pad
// values.
//
//	c := 0
//	for k, b := range src {
//		if b != 0 {
//			idx[c], val[c] = int32(k), float32(b) // or lut[b]
//			c++
//		}
//	}
func NonZeroU8(idx []int32, val []float32, src []uint8, lut *[256]float32) int {
	if len(idx) < len(src)+Pad || len(val) < len(src)+Pad {
		panic("kernels.NonZeroU8: idx or val too short")
	}
	if len(src) > math.MaxInt32 {
		panic("kernels.NonZeroU8: src too long for int32 indices")
	}
	if len(src) == 0 {
		return 0
	}
	if c, ok := nonZeroU8Arch(idx, val, src, lut); ok {
		return c
	}
	return refNonZeroU8(idx, val, src, lut)
}

// LUTZeroExact reports whether lut maps 0, and only 0, to a zero value (NaN
// counts as non-zero), so that NonZeroU8 with lut lists the same elements
// as NonZero on the looked-up row.
func LUTZeroExact(lut *[256]float32) bool {
	if lut[0] != 0 {
		return false
	}
	for _, v := range lut[1:] {
		if v == 0 {
			return false
		}
	}
	return true
}

// AccumRows adds scaled rows of w to z: for each i, in order,
// z += val[i]·w[idx[i]·stride : idx[i]·stride+len(z)], rounding every
// product and every sum to float32 (no FMA). Every idx[i] must be ≥ 0 with
// idx[i]·stride+len(z) ≤ len(w); the SIMD versions do not check them.
//
//	for i, v := range val {
//		for j := range z {
//			z[j] += float32(v * w[int(idx[i])*stride+j])
//		}
//	}
func AccumRows(z, w []float32, stride int, idx []int32, val []float32) {
	if len(idx) < len(val) {
		panic("kernels.AccumRows: fewer indices than values")
	}
	if len(z) == 0 || len(val) == 0 {
		return
	}
	if accumRowsArch(z, w, stride, idx, val) {
		return
	}
	refAccumRows(z, w, stride, idx, val)
}

// AccumRows2 is AccumRows on two rows, z0 with idx0, val0 and z1 with
// idx1, val1 (len(z0) == len(z1)); the SIMD versions interleave the two
// independent sums for narrow rows, which hides the latency of the adds.
func AccumRows2(z0, z1, w []float32, stride int, idx0 []int32, val0 []float32, idx1 []int32, val1 []float32) {
	if len(z0) != len(z1) || len(idx0) < len(val0) || len(idx1) < len(val1) {
		panic("kernels.AccumRows2: rows of different widths, or fewer indices than values")
	}
	if len(z0) == 0 {
		return
	}
	if len(val0) > 0 && len(val1) > 0 && accumRows2Arch(z0, z1, w, stride, idx0, val0, idx1, val1) {
		return
	}
	AccumRows(z0, w, stride, idx0, val0)
	AccumRows(z1, w, stride, idx1, val1)
}

// ScatterRows adds scaled copies of d to rows of g: for each i, in order,
// g[idx[i]·stride : idx[i]·stride+len(d)] += val[i]·d, rounding every
// product and sum to float32. It is the row-major weight-gradient update of
// a Dense layer from one input row: d is that row of dLoss/dz, idx and val
// its non-zero inputs (NonZero's lists). The rows must not overlap (stride
// ≥ len(d)) and must lie inside g (not checked by the SIMD versions). With
// stride a multiple of 16 and g 64-byte aligned (AlignedFloats) every row is
// whole cache lines, so no load waits for a partly overlapping store; with
// rows packed back to back, adjacent indices make it stall.
//
//	for i, v := range val {
//		for j := range d {
//			g[int(idx[i])*stride+j] += float32(v * d[j])
//		}
//	}
func ScatterRows(g []float32, stride int, idx []int32, val []float32, d []float32) {
	if len(idx) < len(val) || stride < len(d) {
		panic("kernels.ScatterRows: fewer indices than values, or overlapping rows")
	}
	if len(d) == 0 || len(val) == 0 {
		return
	}
	if scatterRowsArch(g, stride, idx, val, d) {
		return
	}
	refScatterRows(g, stride, idx, val, d)
}

// ScatterBatch is ScatterRows for every row r of a batch: row r's lists are
// idx, val[start[r]:start[r+1]] and its d is dz[r·len:(r+1)·len], with len
// = len(dz)/(len(start)−1). It does in one call what a loop of ScatterRows
// calls would, in the same order. Where g's rows are padded to whole
// vectors, the AVX2 kernel updates them whole: a padding element v becomes
// v + x·0, which is v unless v is −0 or x is not finite.
func ScatterBatch(g []float32, stride int, idx []int32, val []float32, start []int, dz []float32) {
	rows := len(start) - 1
	if rows <= 0 {
		return
	}
	u := len(dz) / rows
	if u == 0 || stride < u || start[rows] > len(idx) || start[rows] > len(val) {
		panic("kernels.ScatterBatch: bad shapes")
	}
	if scatterBatchArch(g, stride, idx, val, start, dz, u) {
		return
	}
	for r := 0; r < rows; r++ {
		lo, hi := start[r], start[r+1]
		ScatterRows(g, stride, idx[lo:hi], val[lo:hi], dz[r*u:(r+1)*u])
	}
}

// PrefetchRows is Prefetch for rows idx of an array of rows of rowLen
// elements: s[i·rowLen : (i+1)·rowLen] for each i in idx, in one call.
func PrefetchRows[T uint8 | int64 | float32 | float64](s []T, rowLen int, idx []int) {
	if len(idx) == 0 || rowLen <= 0 || len(s) == 0 {
		return
	}
	for _, i := range idx {
		if i < 0 || (i+1)*rowLen > len(s) {
			panic("kernels.PrefetchRows: row out of range")
		}
	}
	prefetchRowsArch(unsafe.Pointer(&s[0]), rowLen*int(unsafe.Sizeof(s[0])), idx)
}

// CopyRows copies rows rows of width values between strided layouts and,
// with clearSrc, zeroes the values it copied in src (a scratch buffer made
// ready for its next use in the same pass).
//
//	for r := 0; r < rows; r++ {
//		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
//		if clearSrc {
//			clear(src[r*srcStride : r*srcStride+width])
//		}
//	}
func CopyRows(dst []float32, dstStride int, src []float32, srcStride int, rows, width int, clearSrc bool) {
	if rows <= 0 || width <= 0 {
		return
	}
	if len(dst) < (rows-1)*dstStride+width || len(src) < (rows-1)*srcStride+width {
		panic("kernels.CopyRows: dst or src too short")
	}
	if copyRowsArch(dst, dstStride, src, srcStride, rows, width, clearSrc) {
		return
	}
	refCopyRows(dst, dstStride, src, srcStride, rows, width, clearSrc)
}

// AccumCols is the forward pass of a wide Dense layer walked by input
// column: z[r,:] += x[r,k]·w[k,:] for every k in increasing order and every
// row r < n with bit r%64 of mask[(r/64)·in + k] set (x[r,k] ≠ 0, as NonZero
// records it); z is n×u, w in×u, x n×in. Every z[r,j] receives its terms in
// increasing k, as AccumRows over the row's NonZero list would add them;
// but each row of w is read once per batch, not once per input row. It
// reports false, doing nothing, where there is no fast version (then use
// AccumRows).
//
//	for k := 0; k < in; k++ {
//		for r := 0; r < n; r++ {
//			if mask[(r/64)*in+k]&(1<<(r%64)) != 0 {
//				for j := 0; j < u; j++ {
//					z[r*u+j] += float32(x[r*in+k] * w[k*u+j])
//				}
//			}
//		}
//	}
func AccumCols(z, w, x []float32, in, u int, mask []uint64, n int) bool {
	return AccumColsBlock(z, w, x, in, u, mask, 0, n, 0, in)
}

// AccumColsBlock is AccumCols for rows r0 … r1−1 and input columns k0 … k1−1
// only: it adds to those rows of z the terms of those k, in increasing k,
// and leaves the other rows alone. Called for k0 … k1−1 and then k1 … in−1
// on the same rows, it adds every term AccumCols adds, in the same order:
// so threads owning blocks of a layer's inputs (rows of W) can hand each
// block of rows on from one to the next.
func AccumColsBlock(z, w, x []float32, in, u int, mask []uint64, r0, r1, k0, k1 int) bool {
	return accumCols("kernels.AccumColsBlock", z, w, x, in, u, mask, r0, r1, k0, k1, 0, u)
}

// AccumColsOut is AccumCols for the output columns c0 … c1−1 of z (and of
// w) only: it adds to z[r, c0:c1] exactly the terms AccumCols adds there,
// in the same order, and leaves the other columns alone (a layer split by
// inputs computes its input gradient dx = dz·Wᵀ by blocks of dx's
// columns, each thread its own).
func AccumColsOut(z, w, x []float32, in, u int, mask []uint64, n, c0, c1 int) bool {
	return accumCols("kernels.AccumColsOut", z, w, x, in, u, mask, 0, n, 0, in, c0, c1)
}

// accumCols checks the shapes of an AccumCols call for rows r0 … r1−1,
// inputs k0 … k1−1 and output columns c0 … c1−1 (panicking with name) and
// makes it.
func accumCols(name string, z, w, x []float32, in, u int, mask []uint64, r0, r1, k0, k1, c0, c1 int) bool {
	words := (r1 + 63) / 64
	if in <= 0 || u <= 0 || r0 < 0 || r0 > r1 || k0 < 0 || k1 > in || k0 > k1 || c0 < 0 || c1 > u || c0 > c1 ||
		len(mask) < words*in || len(z) < r1*u || len(w) < in*u || len(x) < r1*in {
		panic(name + ": bad shapes")
	}
	if r0 == r1 || k0 == k1 || c0 == c1 {
		return hasAccumColsArch()
	}
	return accumColsArch(z, w, x, in, u, mask, r0, r1, k0, k1, c0, c1)
}

// HasAccumCols reports whether AccumCols has a fast version at the current
// level (it then never reports false), so that a caller can skip the bit
// masks' pass when it would fall back anyway. On AVX2 the row-major
// AccumRows is faster than a k-major walk: with 16 vector registers a
// 128-wide row of W does not stay in registers, and the output rows' stores
// twice as many (half as wide) as AVX-512's take the time.
func HasAccumCols() bool { return hasAccumColsArch() }

// GradRows computes a Dense weight gradient g = xᵀ·dz (in×u, row-major)
// over n rows, visiting only the non-zero inputs, which mask records: bit
// r%64 of mask[(r/64)·in + k] is set when x[r·in+k] is non-zero (NonZero
// sets it); bits of rows ≥ n are ignored. g[k,:] is the sum over the rows
// with a set bit, in increasing r and starting from +0, of x[r,k]·dz[r,:]:
// the row-major loop's order for every element. It walks k and keeps a
// whole row of g in registers, which suits wide layers.
//
//	for k := 0; k < in; k++ {
//		clear(g[k*u : (k+1)*u])
//		for r := 0; r < n; r++ {
//			if mask[(r/64)*in+k]&(1<<(r%64)) != 0 {
//				for j := 0; j < u; j++ {
//					g[k*u+j] += float32(x[r*in+k] * dz[r*u+j])
//				}
//			}
//		}
//	}
func GradRows(g []float32, x []float32, in int, dz []float32, u int, mask []uint64, n int) {
	GradRowsBlock(g, x, in, dz, u, mask, n, 0, in)
}

// GradRowsBlock is GradRows for the rows k0 … k1−1 of g (input columns k)
// only: it sets them to exactly what GradRows sets them to and leaves the
// other rows alone, so that threads owning blocks of a layer's inputs
// (rows of W) can split its weight gradient among them.
func GradRowsBlock(g []float32, x []float32, in int, dz []float32, u int, mask []uint64, n, k0, k1 int) {
	words := (n + 63) / 64
	if in <= 0 || u <= 0 || n < 0 || k0 < 0 || k1 > in || k0 > k1 || len(mask) < words*in || len(g) < in*u || len(x) < n*in || len(dz) < n*u {
		panic("kernels.GradRowsBlock: bad shapes")
	}
	if n == 0 {
		clear(g[k0*u : k1*u])
		return
	}
	if k0 == k1 || gradRowsArch(g, x, in, dz, u, mask, n, k0, k1) {
		return
	}
	refGradRows(g, x, in, dz, u, mask, n, k0, k1)
}

// SGD applies w[j] −= lr·g[j] (product rounded to float32, then the
// difference), Keras' SGD without momentum.
func SGD(w, g []float32, lr float32) {
	if len(g) < len(w) {
		panic("kernels.SGD: g shorter than w")
	}
	if len(w) == 0 {
		return
	}
	if sgdArch(w, g, lr) {
		return
	}
	refSGD(w, g, lr)
}

// Transpose sets dst[j·ldDst+i] = src[i·ldSrc+j] for i < rows and j < cols:
// the rows × cols matrix src (rows ldSrc apart) transposed into dst (rows
// ldDst apart). The values are copied bit for bit.
func Transpose(dst []float32, ldDst int, src []float32, ldSrc, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ldSrc < cols || ldDst < rows || len(src) < (rows-1)*ldSrc+cols || len(dst) < (cols-1)*ldDst+rows {
		panic("kernels.Transpose: bad shapes")
	}
	if transposeArch(dst, ldDst, src, ldSrc, rows, cols) {
		return
	}
	refTranspose(dst, ldDst, src, ldSrc, rows, cols)
}

// RMSprop applies one RMSprop update without momentum, not centered
// (Keras' defaults), with c = 1 − rho computed in float32:
//
//	r[j] = float32(rho*r[j]) + float32(float32(c*g[j])*g[j])
//	w[j] -= float32(lr*g[j]) / sqrt32(r[j]+eps)
//
// where sqrt32 is the correctly rounded float32 square root.
func RMSprop(w, g, r []float32, lr, rho, eps float32) {
	if len(g) < len(w) || len(r) < len(w) {
		panic("kernels.RMSprop: g or r shorter than w")
	}
	if len(w) == 0 {
		return
	}
	c := 1 - rho
	if rmspropArch(w, g, r, lr, rho, c, eps) {
		return
	}
	refRMSprop(w, g, r, lr, rho, c, eps)
}

// Adam applies one Keras Adam update with c1 = 1−β₁, c2 = 1−β₂ and alpha =
// lr·√(1−β₂ᵗ)/(1−β₁ᵗ):
//
//	m[j] += float32((g[j] - m[j]) * c1)
//	v[j] += float32((float32(g[j]*g[j]) - v[j]) * c2)
//	w[j] -= float32(alpha*m[j]) / (sqrt32(v[j]) + eps)
//
// where sqrt32 is the correctly rounded float32 square root (what
// float32(math.Sqrt(float64(x))) returns).
func Adam(w, g, m, v []float32, alpha, c1, c2, eps float32) {
	if len(g) < len(w) || len(m) < len(w) || len(v) < len(w) {
		panic("kernels.Adam: g, m or v shorter than w")
	}
	if len(w) == 0 {
		return
	}
	if adamArch(w, g, m, v, alpha, c1, c2, eps) {
		return
	}
	refAdam(w, g, m, v, alpha, c1, c2, eps)
}

// Relu sets dst[j] = x[j] if x[j] > 0, else +0 (NaN and -0 give +0):
// Keras' relu, branch-free. dst may alias x.
func Relu(dst, x []float32) {
	if len(dst) < len(x) {
		panic("kernels.Relu: dst too short")
	}
	n := 0
	if len(x) > 0 {
		n = reluArch(dst, x)
	}
	for j, v := range x[n:] {
		if v > 0 {
			dst[n+j] = v
		} else {
			dst[n+j] = 0
		}
	}
}

// ReluGrad sets dx[j] = dy[j] if y[j] > 0, else +0: relu's backward pass
// from its output y, branch-free. dx may alias dy.
func ReluGrad(dx, y, dy []float32) {
	if len(dx) < len(y) || len(dy) < len(y) {
		panic("kernels.ReluGrad: dx or dy too short")
	}
	n := 0
	if len(y) > 0 {
		n = reluGradArch(dx, y, dy)
	}
	for j, v := range y[n:] {
		if v > 0 {
			dx[n+j] = dy[n+j]
		} else {
			dx[n+j] = 0
		}
	}
}

// U8ToF32 converts bytes to float32: dst[j] = float32(src[j]).
func U8ToF32(dst []float32, src []uint8) {
	if len(dst) < len(src) {
		panic("kernels.U8ToF32: dst too short")
	}
	if len(src) == 0 {
		return
	}
	if u8ToF32Arch(dst, src) {
		return
	}
	refU8ToF32(dst, src)
}

// U8Lookup maps bytes through a table: dst[j] = lut[src[j]].
func U8Lookup(dst []float32, src []uint8, lut *[256]float32) {
	if len(dst) < len(src) {
		panic("kernels.U8Lookup: dst too short")
	}
	if len(src) == 0 {
		return
	}
	if u8LookupArch(dst, src, lut) {
		return
	}
	refU8Lookup(dst, src, lut)
}

// Prefetch asks the CPU to start loading s into its caches (PREFETCHT0 on
// every cache line on amd64; nothing elsewhere). It changes no value: it
// only hides the memory latency of data that will be read soon, such as the
// rows of the next shuffled batch.
func Prefetch[T uint8 | int64 | float32 | float64](s []T) {
	if len(s) > 0 {
		prefetchArch(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])))
	}
}

// Exp sets dst[i] = math.Exp(x[i]) for every i, bit for bit: on amd64 it
// runs Go's own math.Exp algorithm (Shibata's method, in the FMA or non-FMA
// variant, whichever math.Exp uses on this CPU) on vectors of 8 or 4
// values, subnormal and zero results included, and hands the rare values
// outside its range (NaN, overflowing and infinite results) to math.Exp
// itself. The vector path is
// used only if it reproduces math.Exp on a set of probe values at start-up,
// so a different math.Exp (another Go version or platform) only makes it
// slower, never different.
func Exp(dst, x []float64) {
	if len(dst) < len(x) {
		panic("kernels.Exp: dst shorter than x")
	}
	if !expArch(dst, x) {
		for i, v := range x {
			dst[i] = math.Exp(v)
		}
	}
}

// ExpSum is the body of a softmax or log-sum-exp over one row z with
// maximum m, in a single call where the vector exp is available (AVX-512
// or AVX2, rows of up to 16):
//
//	var s float64
//	for j, v := range z {
//		e[j] = math.Exp(float64(v - m))
//		s += e[j]
//	}
//	if p != nil {
//		inv := 1 / s
//		for j := range z {
//			p[j] = float32(float64(float32(e[j])) * inv)
//		}
//	}
//
// ok is false when it did not do it (another level, a longer row, or a value
// math.Exp handles specially, such as NaN); the caller then runs that loop.
// p, if not nil, must hold len(z) values.
func ExpSum(p []float32, z []float32, m float32) (s float64, ok bool) {
	if len(z) == 0 || len(z) > 16 || (p != nil && len(p) < len(z)) {
		return 0, false
	}
	return expSumArch(p, z, m)
}

// ChannelMoments adds to sum and sq, per channel, the sums of x and of its
// squares in float64 (BatchNormalization's batch statistics). x is rows of
// c = len(sum) channels, channel k at every index ≡ k mod c:
//
//	for i := 0; i < len(x); i += c {
//		for k, v := range x[i : i+c] {
//			f := float64(v)
//			sum[k] += f
//			sq[k] += f * f
//		}
//	}
//
// The SIMD versions run across channels, so every sum takes its terms in
// row order. (The square of a float32 is exact in float64, so an FMA
// cannot change it either: the AVX2 version fuses it where that is faster.)
func ChannelMoments(sum, sq []float64, x []float32) {
	c := len(sum)
	if len(sq) < c || (c == 0 && len(x) > 0) || (c > 0 && len(x)%c != 0) {
		panic("kernels.ChannelMoments: len(x) is not a multiple of len(sum), or sq too short")
	}
	if len(x) == 0 {
		return
	}
	if channelMomentsArch(sum, sq, x) {
		return
	}
	refChannelMoments(sum, sq, x)
}

// ChannelAffine sets y = x·a + off per channel, rounding the product to
// float32 before the sum (BatchNormalization's forward pass). x is rows of
// c = len(a) channels; y may alias x. a and off are read on every row:
// 64-byte aligned (AlignedFloats), they let AVX-512 run 16 lanes at a time.
//
//	for i := 0; i < len(x); i += c {
//		for k, v := range x[i : i+c] {
//			y[i+k] = float32(v*a[k]) + off[k]
//		}
//	}
func ChannelAffine(y, x, a, off []float32) {
	c := len(a)
	if len(off) < c || len(y) < len(x) || (c == 0 && len(x) > 0) || (c > 0 && len(x)%c != 0) {
		panic("kernels.ChannelAffine: len(x) is not a multiple of len(a), or off or y too short")
	}
	if len(x) == 0 {
		return
	}
	if channelAffineArch(y, x, a, off) {
		return
	}
	refChannelAffine(y, x, a, off)
}

// NormGradSums adds to sum and sumXhat, per channel, the float64 sums of dy
// and of dy·x̂, where x̂ = (x − mean)·inv is computed in float32
// (BatchNormalization's gradients of beta and gamma). x and dy are rows of
// c = len(mean) channels:
//
//	for i := 0; i < len(x); i += c {
//		for k, v := range x[i : i+c] {
//			xh := (v - mean[k]) * inv[k]
//			sum[k] += float64(dy[i+k])
//			sumXhat[k] += float64(dy[i+k]) * float64(xh)
//		}
//	}
//
// As in ChannelMoments, the sums take their terms in row order, and the
// product of two float32 is exact in float64.
func NormGradSums(sum, sumXhat []float64, x, dy, mean, inv []float32) {
	c := len(mean)
	if len(sum) < c || len(sumXhat) < c || len(inv) < c || len(dy) < len(x) ||
		(c == 0 && len(x) > 0) || (c > 0 && len(x)%c != 0) {
		panic("kernels.NormGradSums: len(x) is not a multiple of len(mean), or another argument too short")
	}
	if len(x) == 0 {
		return
	}
	if normGradSumsArch(sum, sumXhat, x, dy, mean, inv) {
		return
	}
	refNormGradSums(sum, sumXhat, x, dy, mean, inv)
}

// NormGrad sets dx = a·dy + q − r·x̂ per channel, with x̂ = (x − mean)·inv,
// every operation rounded to float32 in this order (BatchNormalization's
// input gradient). x, dy and dx are rows of c = len(mean) channels; dx may
// alias x or dy. As in ChannelAffine, 64-byte aligned parameters (a, q, r,
// mean, inv) let AVX-512 run 16 lanes at a time.
//
//	for i := 0; i < len(x); i += c {
//		for k, v := range x[i : i+c] {
//			xh := (v - mean[k]) * inv[k]
//			dx[i+k] = float32(a[k]*dy[i+k]) + q[k] - float32(r[k]*xh)
//		}
//	}
func NormGrad(dx, x, dy, a, q, r, mean, inv []float32) {
	c := len(mean)
	if len(a) < c || len(q) < c || len(r) < c || len(inv) < c || len(dy) < len(x) || len(dx) < len(x) ||
		(c == 0 && len(x) > 0) || (c > 0 && len(x)%c != 0) {
		panic("kernels.NormGrad: len(x) is not a multiple of len(mean), or another argument too short")
	}
	if len(x) == 0 {
		return
	}
	if normGradArch(dx, x, dy, a, q, r, mean, inv) {
		return
	}
	refNormGrad(dx, x, dy, a, q, r, mean, inv)
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// AlignedFloats returns a zeroed slice of n float32 whose first element is
// 64-byte aligned (a cache line, one AVX-512 vector).
func AlignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	a := int(uintptr(unsafe.Pointer(&s[0]))%64) / 4
	if a != 0 {
		a = 16 - a
	}
	return s[a : a+n : a+n]
}

// Features lists the CPU features the kernels look at, as "name+" (present)
// or "name-" (absent), for reports.
func Features() string { return features() }
