// The native reference: the same operations as the benchmark's workloads, in C with OpenMP,
// built with full optimisation at bench time, so the physical limit is measured on the same
// machine in the same run. Prints one JSON object of per-repetition timings.
//
//   ref square  <n> <threads> <reps>  W3: out[i] = in[i]^2, into a fresh malloc'd output
//                                     (first touched by the parallel loop, then freed: what
//                                     map() allocating its result costs) and into a reused one
//   ref sqrtsum <len> <calls> <reps>  W4: <calls> successive sums of sqrt over <len> doubles,
//                                     on one thread (1,000 elements are below any useful
//                                     parallel grain); reports microseconds per call
//   ref e1|e2abc|e2norm <n> <threads> <reps>  E1/E2: 2*x*x + 3*x + 1, a*b + c and
//                                     sqrt(x*x + y*y) over <n> doubles into a reused output,
//                                     one fused loop (what a hand-written kernel would be)
//   ref fib     <count> <threads> <reps>  W2: fib(24) <count> times, OpenMP dynamic schedule:
//                                     its speedup from 1 thread to all is the machine's own
//                                     ceiling for CPU-bound work (SMT siblings, turbo)
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static void print_list(const char *name, const double *xs, int n, int last) {
  printf("\"%s\":[", name);
  for (int i = 0; i < n; i++) printf("%s%.4f", i ? "," : "", xs[i]);
  printf("]%s", last ? "" : ",");
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: ref square|sqrtsum|fib <n> <threads|calls> <reps>\n");
    return 2;
  }
  long n = atol(argv[2]);
  int third = atoi(argv[3]);
  int reps = atoi(argv[4]);
  double *fresh = calloc(reps, sizeof(double)), *reused = calloc(reps, sizeof(double));
  double *in = malloc(n * sizeof(double));
  for (long i = 0; i < n; i++) in[i] = (double)(i % 1000);
  if (strcmp(argv[1], "fib") == 0) {
    omp_set_num_threads(third);
    long total = 0;
    for (int r = 0; r < reps; r++) {
      double t = now_ms();
      long sum = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : sum)
      for (long i = 0; i < n; i++) sum += fib(24 + (int)(in[i] * 0));
      fresh[r] = now_ms() - t;
      total += sum;
    }
    printf("{\"threads\":%d,\"check\":%ld,", third, total);
    print_list("ms", fresh, reps, 1);
    printf("}\n");
  } else if (argv[1][0] == 'e') {
    omp_set_num_threads(third);
    double *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double)), *out = malloc(n * sizeof(double));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
      b[i] = (double)(i % 7);
      c[i] = 1.0;
      out[i] = 0;
    }
    int mode = strcmp(argv[1], "e1") == 0 ? 1 : strcmp(argv[1], "e2abc") == 0 ? 2 : 3;
    double check = 0;
    for (int r = 0; r < reps; r++) {
      double t = now_ms();
      if (mode == 1) {
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) out[i] = 2 * in[i] * in[i] + 3 * in[i] + 1;
      } else if (mode == 2) {
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) out[i] = in[i] * b[i] + c[i];
      } else {
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) out[i] = sqrt(in[i] * in[i] + b[i] * b[i]);
      }
      fresh[r] = now_ms() - t;
      check += out[n - 1];
    }
    printf("{\"threads\":%d,\"check\":%.1f,", third, check);
    print_list("ms", fresh, reps, 1);
    printf("}\n");
  } else if (strcmp(argv[1], "square") == 0) {
    omp_set_num_threads(third);
    double *out = malloc(n * sizeof(double));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) out[i] = in[i] * in[i];
    double check = 0;
    for (int r = 0; r < reps; r++) {
      double t = now_ms();
      double *o = malloc(n * sizeof(double));
#pragma omp parallel for schedule(static)
      for (long i = 0; i < n; i++) o[i] = in[i] * in[i];
      fresh[r] = now_ms() - t;
      check += o[n - 1];
      free(o);
      t = now_ms();
#pragma omp parallel for schedule(static)
      for (long i = 0; i < n; i++) out[i] = in[i] * in[i];
      reused[r] = now_ms() - t;
      check += out[n / 2];
    }
    printf("{\"threads\":%d,\"check\":%.1f,", third, check);
    print_list("fresh", fresh, reps, 0);
    print_list("reused", reused, reps, 1);
    printf("}\n");
  } else {
    volatile double sink = 0;
    for (int r = 0; r < reps; r++) {
      double t = now_ms();
      for (int c = 0; c < third; c++) {
        double s = 0;
        for (long i = 0; i < n; i++) s += sqrt(in[i]);
        sink += s;
      }
      fresh[r] = (now_ms() - t) * 1e3 / third;
    }
    printf("{\"check\":%.1f,", (double)sink);
    print_list("perCallUs", fresh, reps, 1);
    printf("}\n");
  }
  return 0;
}
