// UAD_HD marks scalar functions shared by the CPU and CUDA backends (one definition each).
#pragma once
#if defined(UAD_CUDA_SIM) && !defined(__CUDACC__)
#include "kernels/sim/sim_types.h"  // defines __host__ / __device__ for g++
#endif
#if defined(__CUDACC__) || defined(UAD_CUDA_SIM)
#define UAD_HD __host__ __device__
#else
#define UAD_HD
#endif
