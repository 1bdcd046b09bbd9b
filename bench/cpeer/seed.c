/*
 * seed.c: the question's program (MNIST, raw uint8 pixels, Dense 784→10
 * sigmoid, categorical cross-entropy from the logits as Keras' TF backend
 * computes it, SGD lr 0.01, batch 32, validation on the test rows) written
 * the straightforward way in C, as a peer for `kiln bench --vs-c`. It does
 * the work kiln's kernels do — zero pixels skipped in the forward pass and
 * the weight gradient, their indices listed without a branch per pixel
 * (which measured 1.5× faster than testing each pixel in both loops) — with
 * plain loops, and leaves the vectorising to the compiler (bench/cpeer.go builds it with -O3 and -march=x86-64-v3 for AVX2
 * or x86-64-v4 for AVX-512).
 *
 * Usage: seed DATA EPOCHS. DATA is the file bench/cpeer.go writes: int32
 * n_train, n_val, then the training pixels (n_train × 784 bytes), labels
 * (n_train bytes), validation pixels and labels, then the 7,850 initial
 * float32 weights (kernel 784×10 row-major, bias 10). One line per epoch:
 * "epoch E total T train T val T loss L accuracy A val_loss L val_accuracy A".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { IN = 784, OUT = 10, BATCH = 32 };

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void) {
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *read_all(FILE *f, size_t n) {
	void *p = malloc(n);
	if (p == NULL || fread(p, 1, n, f) != n) {
		fprintf(stderr, "seed: short data file\n");
		exit(1);
	}
	return p;
}

/* forward computes one row's logits z = x·W + b, skipping zero pixels, and
 * returns its loss (log-sum-exp of z minus z[label]); p gets softmax(z),
 * nzi the indices of the non-zero pixels and *nnz their number. */
static float forward(const uint8_t *x, const float *w, const float *b, int label, float *z, float *p, int *nzi, int *nnz) {
	for (int j = 0; j < OUT; j++)
		z[j] = b[j];
	int nz = 0;
	for (int k = 0; k < IN; k++) {
		nzi[nz] = k;
		nz += x[k] != 0;
	}
	*nnz = nz;
	for (int i = 0; i < nz; i++) {
		int k = nzi[i];
		float v = x[k];
		const float *wk = w + k * OUT;
		for (int j = 0; j < OUT; j++)
			z[j] += v * wk[j];
	}
	float m = z[0];
	for (int j = 1; j < OUT; j++)
		if (z[j] > m)
			m = z[j];
	float s = 0;
	for (int j = 0; j < OUT; j++) {
		p[j] = expf(z[j] - m);
		s += p[j];
	}
	for (int j = 0; j < OUT; j++)
		p[j] /= s;
	return m + logf(s) - z[label];
}

static int argmax(const float *z) {
	int a = 0;
	for (int j = 1; j < OUT; j++)
		if (z[j] > z[a])
			a = j;
	return a;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: seed DATA EPOCHS\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	int epochs = atoi(argv[2]);
	int32_t n[2];
	if (fread(n, 4, 2, f) != 2) {
		fprintf(stderr, "seed: short data file\n");
		return 1;
	}
	int nt = n[0], nv = n[1];
	uint8_t *xt = read_all(f, (size_t)nt * IN), *yt = read_all(f, nt);
	uint8_t *xv = read_all(f, (size_t)nv * IN), *yv = read_all(f, nv);
	float *w = read_all(f, sizeof(float) * (IN * OUT + OUT));
	float *b = w + IN * OUT;
	fclose(f);

	float *dw = malloc(sizeof(float) * (IN * OUT + OUT));
	float *db = dw + IN * OUT;
	int *order = malloc(sizeof(int) * nt);
	for (int i = 0; i < nt; i++)
		order[i] = i;
	float z[OUT], p[OUT], g[BATCH][OUT];
	static int nzi[BATCH][IN];
	int nnz[BATCH];
	int vnz;
	const float lr = 0.01f;
	for (int e = 0; e < epochs; e++) {
		double t0 = now();
		for (int i = nt - 1; i > 0; i--) {
			int j = next() % (uint64_t)(i + 1);
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		double loss = 0;
		int correct = 0;
		for (int s = 0; s < nt; s += BATCH) {
			int bn = nt - s < BATCH ? nt - s : BATCH;
			for (int r = 0; r < bn; r++) {
				const uint8_t *x = xt + (size_t)order[s + r] * IN;
				int label = yt[order[s + r]];
				loss += forward(x, w, b, label, z, p, nzi[r], &nnz[r]);
				correct += argmax(z) == label;
				for (int j = 0; j < OUT; j++)
					g[r][j] = (p[j] - (j == label)) / bn;
			}
			for (int i = 0; i < IN * OUT + OUT; i++)
				dw[i] = 0;
			for (int r = 0; r < bn; r++) {
				const uint8_t *x = xt + (size_t)order[s + r] * IN;
				for (int i = 0; i < nnz[r]; i++) {
					int k = nzi[r][i];
					float v = x[k];
					float *dk = dw + k * OUT;
					for (int j = 0; j < OUT; j++)
						dk[j] += v * g[r][j];
				}
				for (int j = 0; j < OUT; j++)
					db[j] += g[r][j];
			}
			for (int i = 0; i < IN * OUT + OUT; i++)
				w[i] -= lr * dw[i];
		}
		double t1 = now();
		double vloss = 0;
		int vcorrect = 0;
		for (int r = 0; r < nv; r++) {
			vloss += forward(xv + (size_t)r * IN, w, b, yv[r], z, p, nzi[0], &vnz);
			vcorrect += argmax(z) == yv[r];
		}
		double t2 = now();
		printf("epoch %d total %.6f train %.6f val %.6f loss %.4f accuracy %.4f val_loss %.4f val_accuracy %.4f\n",
		       e + 1, t2 - t0, t1 - t0, t2 - t1, loss / nt, (double)correct / nt, vloss / nv, (double)vcorrect / nv);
		fflush(stdout);
	}
	return 0;
}
