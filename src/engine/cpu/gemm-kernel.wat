;; WASM SIMD kernels of the CPU backend (assembled with `node scripts/build-gemm-wasm.mjs` into
;; gemm-kernel-wasm.ts): the GEMM micro-kernel below, then the softmax row kernels, the LoRA dropout
;; mask and the gated MLP (each described above its function).
;;
;; GEMM: single precision over packed panels (GotoBLAS layout).
;; A is packed in blocks of 4 rows: block ib holds k×4 floats, element (p, r) at ib·16k + 16p + 4r.
;; B is packed in panels of 8 columns: panel jp holds k×8 floats, element (p, c) at jp·32k + 32p + 4c.
;; C: [mb·4, np·8] row-major, overwritten. Rows are walked in groups of `group` blocks so that a
;; group of A stays in L2 while each B panel (k·32 bytes) stays in L1.
;; Panels [jp0, jp1) only: threads sharing the memory split the panels between them.
(module
  (import "env" "memory" (memory 1 16384 shared))
  (func (export "gemm") (param $ap i32) (param $bp i32) (param $cp i32) (param $mb i32) (param $np i32) (param $k i32) (param $group i32) (param $jp0 i32) (param $jp1 i32)
    (local $g0 i32) (local $g1 i32) (local $jp i32) (local $ib i32)
    (local $a i32) (local $b i32) (local $aend i32) (local $c i32) (local $ldc i32)
    (local $av v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    ;; ldc in bytes
    (local.set $ldc (i32.mul (local.get $np) (i32.const 32)))
    (local.set $g0 (i32.const 0))
    (block $gdone (loop $gloop
      (br_if $gdone (i32.ge_u (local.get $g0) (local.get $mb)))
      (local.set $g1 (i32.add (local.get $g0) (local.get $group)))
      (if (i32.gt_u (local.get $g1) (local.get $mb)) (then (local.set $g1 (local.get $mb))))
      (local.set $jp (local.get $jp0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $jp) (local.get $jp1)))
        (local.set $ib (local.get $g0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $ib) (local.get $g1)))
          (local.set $a (i32.add (local.get $ap) (i32.mul (local.get $ib) (i32.mul (local.get $k) (i32.const 16)))))
          (local.set $aend (i32.add (local.get $a) (i32.mul (local.get $k) (i32.const 16))))
          (local.set $b (i32.add (local.get $bp) (i32.mul (local.get $jp) (i32.mul (local.get $k) (i32.const 32)))))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
          (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
          (block $pdone (loop $ploop
            (br_if $pdone (i32.ge_u (local.get $a) (local.get $aend)))
            (local.set $b0 (v128.load (local.get $b)))
            (local.set $b1 (v128.load offset=16 (local.get $b)))
            (local.set $av (f32x4.splat (f32.load (local.get $a))))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (f32x4.splat (f32.load offset=4 (local.get $a))))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (f32x4.splat (f32.load offset=8 (local.get $a))))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (f32x4.splat (f32.load offset=12 (local.get $a))))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 32)))
            (br $ploop)))
          ;; C row (ib·4 + r), columns jp·8 .. jp·8+7
          (local.set $c (i32.add (local.get $cp)
            (i32.add (i32.mul (i32.mul (local.get $ib) (i32.const 4)) (local.get $ldc)) (i32.mul (local.get $jp) (i32.const 32)))))
          (v128.store (local.get $c) (local.get $c00))
          (v128.store offset=16 (local.get $c) (local.get $c01))
          (local.set $c (i32.add (local.get $c) (local.get $ldc)))
          (v128.store (local.get $c) (local.get $c10))
          (v128.store offset=16 (local.get $c) (local.get $c11))
          (local.set $c (i32.add (local.get $c) (local.get $ldc)))
          (v128.store (local.get $c) (local.get $c20))
          (v128.store offset=16 (local.get $c) (local.get $c21))
          (local.set $c (i32.add (local.get $c) (local.get $ldc)))
          (v128.store (local.get $c) (local.get $c30))
          (v128.store offset=16 (local.get $c) (local.get $c31))
          (local.set $ib (i32.add (local.get $ib) (i32.const 1)))
          (br $iloop)))
        (local.set $jp (i32.add (local.get $jp) (i32.const 1)))
        (br $jloop)))
      (local.set $g0 (local.get $g1))
      (br $gloop)))
  )

  ;; e^x on four lanes, x ≥ −87: e^f for |f| ≤ ln2/2 by a degree-6 polynomial, 2^k put into the
  ;; exponent bits. Relative error about 2e-7, at float32's own level.
  (func $exp4 (param $x v128) (result v128)
    (local $k v128) (local $f v128) (local $y v128) (local $t v128)
    (local.set $t (f32x4.add (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504))) (f32x4.splat (f32.const 12582912))))
    (local.set $k (f32x4.sub (local.get $t) (f32x4.splat (f32.const 12582912))))
    (local.set $f (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693145752))))
                             (f32x4.mul (local.get $k) (f32x4.splat (f32.const 1.42860677e-6)))))
    (local.set $y (f32x4.splat (f32.const 0.00138888889)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.00833333333))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.0416666667))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.166666667))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.5))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.sub (local.get $t) (i32x4.splat (i32.const 0x4b3fff81))) (i32.const 23))))

  ;; x[i] = e^(max(x[i] − shift, −87)) for i in [0, n): four lanes at a time, then one by one.
  (func (export "exp_sub") (param $p i32) (param $n i32) (param $shift f32)
    (local $end i32) (local $end4 i32) (local $s v128) (local $lo v128)
    (local $x v128) (local $k v128) (local $f v128) (local $y v128) (local $t v128)
    (local.set $s (f32x4.splat (local.get $shift)))
    (local.set $lo (f32x4.splat (f32.const -87)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $x (f32x4.pmax (f32x4.sub (v128.load (local.get $p)) (local.get $s)) (local.get $lo)))
      (local.set $t (f32x4.add (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504))) (f32x4.splat (f32.const 12582912))))
      (local.set $k (f32x4.sub (local.get $t) (f32x4.splat (f32.const 12582912))))
      (local.set $f (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693145752))))
                               (f32x4.mul (local.get $k) (f32x4.splat (f32.const 1.42860677e-6)))))
      (local.set $y (f32x4.splat (f32.const 0.00138888889)))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.00833333333))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.0416666667))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.166666667))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.5))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
      (v128.store (local.get $p) (f32x4.mul (local.get $y)
        (i32x4.shl (i32x4.sub (local.get $t) (i32x4.splat (i32.const 0x4b3fff81))) (i32.const 23))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
      (f32.store (local.get $p) (f32x4.extract_lane 0
        (call $exp4 (f32x4.max (f32x4.sub (f32x4.splat (f32.load (local.get $p))) (local.get $s)) (local.get $lo)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l1)))
  )

  ;; The dropout hash of lora-linear.ts (hashUniform), four indices at a time.
  (func $hash4 (param $i v128) (param $seedmix v128) (result v128)
    (local $h v128)
    (local.set $h (v128.xor (i32x4.mul (local.get $i) (i32x4.splat (i32.const 0x9e3779b1))) (local.get $seedmix)))
    (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (i32x4.splat (i32.const 0x7feb352d))))
    (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (i32x4.splat (i32.const 0x846ca68b))))
    (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))

  ;; x[i] *= (hash(seed, start + i) ≥ threshold as u32) ? scale : 0 for i in [0, n), in place.
  (func (export "dropout") (param $p i32) (param $n i32) (param $seed i32) (param $threshold i32) (param $scale f32) (param $start i32)
    (local $end i32) (local $end4 i32) (local $idx v128) (local $mix v128) (local $thr v128) (local $sc v128) (local $keep v128)
    (local.set $mix (i32x4.splat (i32.mul (local.get $seed) (i32.const 0x85ebca77))))
    (local.set $thr (i32x4.splat (local.get $threshold)))
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $idx (i32x4.add (i32x4.splat (local.get $start)) (v128.const i32x4 0 1 2 3)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $keep (i32x4.ge_u (call $hash4 (local.get $idx) (local.get $mix)) (local.get $thr)))
      (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p)) (v128.and (local.get $keep) (local.get $sc))))
      (local.set $idx (i32x4.add (local.get $idx) (i32x4.splat (i32.const 4))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $keep (i32x4.ge_u (call $hash4 (local.get $idx) (local.get $mix)) (local.get $thr)))
      (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (f32x4.extract_lane 0 (v128.and (local.get $keep) (local.get $sc)))))
      (local.set $idx (i32x4.add (local.get $idx) (i32x4.splat (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l1)))
  )

  ;; max of x[0 .. n), n ≥ 1.
  (func (export "row_max") (param $p i32) (param $n i32) (result f32)
    (local $end i32) (local $end4 i32) (local $m v128) (local $r f32)
    (local.set $m (f32x4.splat (f32.const -inf)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $m (f32x4.pmax (local.get $m) (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (local.set $r (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
                           (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $r (f32.max (local.get $r) (f32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l1)))
    (local.get $r))

  ;; sum of x[0 .. n) (four float32 lanes, then added in float64).
  (func (export "row_sum") (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $end4 i32) (local $acc v128) (local $r f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (local.set $r (f64.add (f64.add (f64.promote_f32 (f32x4.extract_lane 0 (local.get $acc))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $acc))))
                           (f64.add (f64.promote_f32 (f32x4.extract_lane 2 (local.get $acc))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $acc))))))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $r (f64.add (local.get $r) (f64.promote_f32 (f32.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l1)))
    (local.get $r))

  ;; x[i] = a · (x[i] − b) · y[i] for i in [0, n): the softmax backward dS = P ⊙ (dP − D)
  ;; (x = dP, y = P, a = 1, b = D).
  (func (export "scale_sub_mul") (param $x i32) (param $y i32) (param $n i32) (param $a f32) (param $b f32)
    (local $end i32) (local $end4 i32) (local $va v128) (local $vb v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end4)))
      (v128.store (local.get $x) (f32x4.mul (f32x4.mul (local.get $va) (f32x4.sub (v128.load (local.get $x)) (local.get $vb))) (v128.load (local.get $y))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $l)))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $x) (local.get $end)))
      (f32.store (local.get $x) (f32.mul (f32.mul (local.get $a) (f32.sub (f32.load (local.get $x)) (local.get $b))) (f32.load (local.get $y))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $l1)))
  )

  ;; x[i] *= a for i in [0, n).
  (func (export "scale") (param $p i32) (param $n i32) (param $a f32)
    (local $end i32) (local $end4 i32) (local $va v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end4)))
      (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p)) (local.get $va)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (block $done1 (loop $l1
      (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
      (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (local.get $a)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l1)))
  )

  ;; Gated MLP on four lanes: act(g) = g·σ(z) with z = g (SiLU) or z = 2c(g + 0.044715g³), c = √(2/π)
  ;; (tanh GELU, as 0.5(1 + tanh u) = σ(2u)). Forward: h = act(g)·u. Backward (when $back):
  ;; dup = dh·g·σ, dgate = dh·u·σ·(1 + g(1 − σ)·z'), z' = 1 or 2c(1 + 0.134145g²).
  ;; n a multiple of 4 (the caller pads). Arrays at byte offsets in this memory.
  (func (export "glu") (param $gate i32) (param $up i32) (param $dh i32) (param $out0 i32) (param $out1 i32) (param $n i32) (param $gelu i32) (param $back i32)
    (local $i i32) (local $g v128) (local $z v128) (local $zp v128) (local $e v128) (local $sig v128) (local $u v128) (local $d v128)
    (local $k v128) (local $f v128) (local $y v128) (local $t v128)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $g (v128.load (i32.add (local.get $gate) (local.get $i))))
      (local.set $u (v128.load (i32.add (local.get $up) (local.get $i))))
      (if (local.get $gelu)
        (then
          (local.set $z (f32x4.mul (f32x4.splat (f32.const 1.59576912))
            (f32x4.add (local.get $g) (f32x4.mul (f32x4.splat (f32.const 0.044715)) (f32x4.mul (local.get $g) (f32x4.mul (local.get $g) (local.get $g)))))))
          (local.set $zp (f32x4.mul (f32x4.splat (f32.const 1.59576912))
            (f32x4.add (f32x4.splat (f32.const 1)) (f32x4.mul (f32x4.splat (f32.const 0.134145)) (f32x4.mul (local.get $g) (local.get $g)))))))
        (else
          (local.set $z (local.get $g))
          (local.set $zp (f32x4.splat (f32.const 1)))))
      ;; e = e^(−z), clamped to [−87, 88]
      (local.set $e (f32x4.pmin (f32x4.pmax (f32x4.neg (local.get $z)) (f32x4.splat (f32.const -87))) (f32x4.splat (f32.const 88))))
      (local.set $t (f32x4.add (f32x4.mul (local.get $e) (f32x4.splat (f32.const 1.44269504))) (f32x4.splat (f32.const 12582912))))
      (local.set $k (f32x4.sub (local.get $t) (f32x4.splat (f32.const 12582912))))
      (local.set $f (f32x4.sub (f32x4.sub (local.get $e) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693145752))))
                               (f32x4.mul (local.get $k) (f32x4.splat (f32.const 1.42860677e-6)))))
      (local.set $y (f32x4.splat (f32.const 0.00138888889)))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.00833333333))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.0416666667))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.166666667))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 0.5))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
      (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $f)) (f32x4.splat (f32.const 1))))
      (local.set $e (f32x4.mul (local.get $y)
        (i32x4.shl (i32x4.sub (local.get $t) (i32x4.splat (i32.const 0x4b3fff81))) (i32.const 23))))
      (local.set $sig (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.add (f32x4.splat (f32.const 1)) (local.get $e))))
      (if (local.get $back)
        (then
          (local.set $d (v128.load (i32.add (local.get $dh) (local.get $i))))
          ;; dgate
          (v128.store (i32.add (local.get $out0) (local.get $i))
            (f32x4.mul (f32x4.mul (f32x4.mul (local.get $d) (local.get $u)) (local.get $sig))
              (f32x4.add (f32x4.splat (f32.const 1))
                (f32x4.mul (f32x4.mul (local.get $g) (f32x4.sub (f32x4.splat (f32.const 1)) (local.get $sig))) (local.get $zp)))))
          ;; dup
          (v128.store (i32.add (local.get $out1) (local.get $i)) (f32x4.mul (f32x4.mul (local.get $d) (local.get $g)) (local.get $sig))))
        (else
          (v128.store (i32.add (local.get $out0) (local.get $i)) (f32x4.mul (f32x4.mul (local.get $g) (local.get $sig)) (local.get $u)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
  )
)
