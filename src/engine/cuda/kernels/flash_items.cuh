// The work list of a dK/dV block (flash_attention.cu's flash_backward_dkdv, flash_backward_wgmma.cu):
// the (query head, query tile) items that can see a key tile, the group's heads times the query
// tiles from the key tile's own to the last one its keys reach (the causal band, or the window),
// cut into `splits` contiguous ranges of which the block takes one.

struct DkdvItems {
  int qt_lo;   // the first query tile
  int tiles;   // query tiles an item head spans
  int lo, hi;  // this block's items, [lo, hi)

  // Keys [k0, k0 + keys) against query tiles of bm queries, for split `split` of `splits`.
  __device__ __forceinline__ DkdvItems(int k0, int keys, int bm, int T, int window, int group, int split, int splits) {
    const int q_last = window > 0 ? min(T - 1, k0 + keys - 1 + window - 1) : T - 1;
    qt_lo = k0 / bm;
    tiles = q_last / bm - qt_lo + 1;
    const int total = group * tiles;
    lo = (int)((long long)split * total / splits);
    hi = (int)((long long)(split + 1) * total / splits);
  }
  // Item it: query head kvh·group + it / tiles, first query (qt_lo + it % tiles)·bm.
  __device__ __forceinline__ int head(int it, int kvh, int group) const { return kvh * group + it / tiles; }
  __device__ __forceinline__ int first_query(int it, int bm) const { return (qt_lo + it % tiles) * bm; }
};
