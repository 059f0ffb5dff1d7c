"""Landscapes: the loss, gradient and Hessian of a problem in each tier (exact SymPy, mpmath, numpy
with compiled kernels), formula landscapes, quadrature.

Private: the public API is ``verify``."""
