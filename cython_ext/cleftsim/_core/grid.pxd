# Build-time preparation of the tracing grid (grid.pyx); scene.pyx re-exports its functions.

cdef tuple near_cells(const double* tri, const double* planes, const int* tri_plane, int[::1] candidates,
                      double margin, double[::1] lo, double[::1] cell, int[::1] ncell)
