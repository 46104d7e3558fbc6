/* head_dim.h — the one head dim of the CUDA sparse attention path: the kernels (C++/CUDA) and
 * their host launcher (sparse_cuda.c) both read it from here.  The CPU references and dense
 * attention take any head dim. */
#ifndef SPADIT_HEAD_DIM_H
#define SPADIT_HEAD_DIM_H

#define SP_HEAD_DIM 128

#endif
