// NIfTI reading and writing with nifticlib (libnifti2: NIfTI-1 and NIfTI-2, gzip via znzlib).
//
// Reading: nifti_image_read(header only) → our own checks on dims/datatype/size (so a corrupt
// header can never make us allocate or read absurd amounts) → the voxel bytes read through znzlib
// (not nifti_image_load, which silently zeroes NaN/Inf floats) and byte-swapped when needed →
// float32 with scaling and a NaN/Inf scan. Writing: nifticlib builds the NIfTI-1 header
// (nifti_convert_nim2n1hdr, quaternion via nifti_dmat44_to_quatern), and we write header, the
// 4-byte extender and the voxels through znzlib ourselves, because nifti_image_write ignores
// write errors; every znzwrite/close result is checked, and the temporary file is renamed over
// the destination only when everything succeeded.
#include "io/nifti.h"

#include "io/atomic_file.h"

#include <nifti2_io.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <vector>

namespace uad::io {
namespace fs = std::filesystem;

Mat4 mat4_identity() {
  Mat4 m{};
  for (int r = 0; r < 4; ++r) m[r][r] = 1;
  return m;
}

Mat4 mat4_mul(const Mat4& a, const Mat4& b) {
  Mat4 c{};
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 4; ++k)
      for (int col = 0; col < 4; ++col) c[r][col] += a[r][k] * b[k][col];
  return c;
}

std::array<double, 3> voxel_to_world(const Mat4& a, double i, double j, double k) {
  std::array<double, 3> w;
  for (int r = 0; r < 3; ++r) w[r] = a[r][0] * i + a[r][1] * j + a[r][2] * k + a[r][3];
  return w;
}

namespace {

nifti_dmat44 to_dmat(const Mat4& m) {
  nifti_dmat44 d;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) d.m[r][c] = m[r][c];
  return d;
}

Mat4 from_dmat(const nifti_dmat44& d) {
  Mat4 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m[r][c] = d.m[r][c];
  return m;
}

Mat4 diag_affine(const std::array<double, 3>& s) {
  Mat4 m = mat4_identity();
  for (int a = 0; a < 3; ++a) m[a][a] = s[a];
  return m;
}

// nifticlib prints its own diagnostics at debug level ≥ 1; our errors carry the message instead.
void quiet_nifticlib() {
  static std::once_flag once;
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

struct NimDeleter {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

bool supported_datatype(int dt) {
  switch (dt) {
    case DT_UINT8: case DT_INT8: case DT_INT16: case DT_UINT16: case DT_INT32: case DT_UINT32:
    case DT_INT64: case DT_UINT64: case DT_FLOAT32: case DT_FLOAT64: return true;
    default: return false;
  }
}

// Opens the header and validates everything that decides how much data will be read.
NimPtr open_checked(const std::string& path) {
  quiet_nifticlib();
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail("read_nifti: ", path, ": file not found");
  if (!fs::is_regular_file(st)) fail("read_nifti: ", path, ": not a regular file");
  NimPtr nim(nifti_image_read(path.c_str(), 0));
  if (!nim) fail("read_nifti: ", path, ": not a NIfTI file, or its header is truncated or corrupt");
  if (nim->nifti_type == NIFTI_FTYPE_ASCII) fail("read_nifti: ", path, ": NIfTI ASCII (.nia) files are not supported");
  if (nim->iname == nullptr) fail("read_nifti: ", path, ": no image data file");
  const int64_t nd = nim->dim[0];
  if (nd < 1 || nd > 7) fail("read_nifti: ", path, ": invalid dim[0] = ", nd);
  std::array<int64_t, 8> d{};
  for (int k = 1; k <= 7; ++k) d[k] = k <= nd ? nim->dim[k] : 1;
  for (int k = 1; k <= nd; ++k)
    if (d[k] < 1) fail("read_nifti: ", path, ": invalid dim[", k, "] = ", d[k]);
  if (d[4] > 1) fail("read_nifti: ", path, ": 4-D data with t = ", d[4], " (", d[1], "x", d[2], "x", d[3], "x", d[4],
                     "); a 3-D volume is needed (a 4-D file with t = 1 is accepted)");
  for (int k = 5; k <= 7; ++k)
    if (d[k] > 1) fail("read_nifti: ", path, ": ", nd, "-D data (dim[", k, "] = ", d[k], "); a 3-D volume is needed");
  const int64_t kMaxVox = int64_t(1) << 31;
  if (d[1] > kMaxVox || d[2] > kMaxVox || d[3] > kMaxVox || d[1] * d[2] > kMaxVox || d[1] * d[2] * d[3] > kMaxVox)
    fail("read_nifti: ", path, ": volume ", d[1], "x", d[2], "x", d[3], " exceeds 2^31 voxels");
  if (!supported_datatype(nim->datatype))
    fail("read_nifti: ", path, ": unsupported datatype ", nifti_datatype_to_string(nim->datatype), " (code ",
         nim->datatype, "); supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64");
  // nx/ny/nz (what the tensor shape is made of), nvox (what is read) and nbyper (the element size
  // of the datatype) must all agree with dim[]: a corrupt header can make them differ (found by
  // the fuzzer: nz ≠ dim[3] with dim[0] < 3 overflowed the output tensor).
  int nbyper = 0, swapsize = 0;
  nifti_datatype_sizes(nim->datatype, &nbyper, &swapsize);
  if (nim->nvox != d[1] * d[2] * d[3] || nim->nx != d[1] || nim->ny != d[2] || nim->nz != d[3] ||
      nim->nbyper != nbyper || nbyper <= 0)
    fail("read_nifti: ", path, ": inconsistent header (dim ", d[1], "x", d[2], "x", d[3], ", nx/ny/nz ", nim->nx, "x",
         nim->ny, "x", nim->nz, ", nvox ", nim->nvox, ", ", nim->nbyper, " bytes per voxel)");
  if (!nifti_is_gzfile(nim->iname)) {
    const int64_t need = nim->iname_offset + nim->nvox * nim->nbyper;
    const int64_t have = nifti_get_filesize(nim->iname);
    if (have < need)
      fail("read_nifti: ", path, ": truncated file: ", have, " bytes, header needs ", need, " (offset ",
           nim->iname_offset, " + ", nim->nvox, " voxels x ", nim->nbyper, " bytes)");
  }
  return nim;
}

// Reads the voxel bytes ourselves (znzlib) instead of nifti_image_load, which silently replaces
// NaN/Inf floats by 0 — we must report them. Short reads (truncated files or gzip streams) fail.
std::vector<char> load_voxels(const nifti_image& nim, const std::string& path) {
  const size_t nbytes = (size_t)nim.nvox * (size_t)nim.nbyper;
  std::vector<char> buf;
  znzFile fp = znzopen(nim.iname, "rb", nifti_is_gzfile(nim.iname));
  if (znz_isnull(fp)) fail("read_nifti: ", path, ": cannot open the image data file ", nim.iname);
  bool ok = nim.iname_offset >= 0 && znzseek(fp, (znz_off_t)nim.iname_offset, SEEK_SET) >= 0;
  // The buffer grows with the data actually read, so a corrupt gzip header that declares a huge
  // volume fails at the end of the stream instead of allocating the declared size up front.
  const size_t chunk = size_t(32) << 20;
  for (size_t off = 0; ok && off < nbytes; off += chunk) {
    const size_t len = std::min(chunk, nbytes - off);
    buf.resize(off + len);
    ok = znzread(buf.data() + off, 1, len, fp) == len;
  }
  Xznzclose(&fp);
  if (!ok)
    fail("read_nifti: ", path, ": cannot read the voxel data (truncated or corrupt ",
         nifti_is_gzfile(nim.iname) ? "gzip stream" : "file", ")");
  if (nim.byteorder != nifti_short_order() && nim.swapsize > 1)
    nifti_swap_Nbytes((int64_t)nim.nvox, nim.swapsize, buf.data());
  return buf;
}

NiftiHeader header_of(const nifti_image& nim) {
  NiftiHeader h;
  h.dim = {nim.nx, nim.ny, nim.nz};
  for (int a = 0; a < 3; ++a) {
    double p = std::fabs(nim.pixdim[a + 1]);
    h.pixdim[a] = (std::isfinite(p) && p > 0) ? p : 1.0;
  }
  h.qform_code = nim.qform_code;
  h.sform_code = nim.sform_code;
  h.qform = nim.qform_code > 0 ? from_dmat(nim.qto_xyz) : diag_affine(h.pixdim);
  h.affine = nim.sform_code > 0 ? from_dmat(nim.sto_xyz) : h.qform;
  h.sform = nim.sform_code > 0 ? from_dmat(nim.sto_xyz) : h.affine;
  // Spatial units: convert metres / microns to mm (unknown = mm, as every tool assumes).
  const int units = XYZT_TO_SPACE(nim.xyz_units);
  const double f = units == NIFTI_UNITS_METER ? 1000.0 : units == NIFTI_UNITS_MICRON ? 1e-3 : 1.0;
  if (f != 1.0) {
    for (int a = 0; a < 3; ++a) h.pixdim[a] *= f;
    for (Mat4* m : {&h.qform, &h.sform, &h.affine})
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) (*m)[r][c] *= f;
  }
  h.orientation = orientation_string(h.affine);
  h.datatype = nim.datatype;
  h.scl_slope = nim.scl_slope;
  h.scl_inter = nim.scl_inter;
  h.descrip = std::string(nim.descrip, strnlen(nim.descrip, sizeof(nim.descrip)));
  return h;
}

// out[v] = src[v]·slope + inter (in double when scaled); returns the number of non-finite voxels
// and the smallest linear index of one.
template <class T>
std::pair<int64_t, int64_t> convert(const void* raw, float* out, int64_t n, bool scaled, double slope, double inter) {
  const T* src = static_cast<const T*>(raw);
  int64_t bad = 0, first = n;
#pragma omp parallel for schedule(static) reduction(+ : bad) reduction(min : first) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) {
    float x = scaled ? (float)((double)src[v] * slope + inter) : (float)src[v];
    out[v] = x;
    if (!std::isfinite(x)) {
      ++bad;
      first = std::min(first, v);
    }
  }
  return {bad, first};
}

}  // namespace

std::string orientation_string(const Mat4& affine) {
  int c[3];
  nifti_dmat44_to_orientation(to_dmat(affine), &c[0], &c[1], &c[2]);
  std::string s;
  for (int a = 0; a < 3; ++a) {
    switch (c[a]) {
      case NIFTI_L2R: s += 'R'; break;
      case NIFTI_R2L: s += 'L'; break;
      case NIFTI_P2A: s += 'A'; break;
      case NIFTI_A2P: s += 'P'; break;
      case NIFTI_I2S: s += 'S'; break;
      case NIFTI_S2I: s += 'I'; break;
      default: s += '?';
    }
  }
  return s;
}

// NIfTI version of the file: nifticlib 3.0.1 reports nifti_type 1 for single-file NIfTI-2 too,
// so the header is asked directly (0 = Analyze 7.5).
static int version_of(const std::string& path, const nifti_image& nim) {
  if (nim.nifti_type == NIFTI_FTYPE_ANALYZE) return 0;
  int ver = 1;
  void* hdr = nifti_read_header(path.c_str(), &ver, 0);
  free(hdr);
  return ver == 2 ? 2 : 1;
}

NiftiHeader read_nifti_header(const std::string& path) {
  NimPtr nim = open_checked(path);
  NiftiHeader h = header_of(*nim);
  h.nifti_version = version_of(path, *nim);
  return h;
}

NiftiVolume read_nifti(const std::string& path) {
  NimPtr nim = open_checked(path);
  std::vector<char> raw = load_voxels(*nim, path);
  NiftiVolume v;
  v.header = header_of(*nim);
  v.header.nifti_version = version_of(path, *nim);
  v.data = empty(v.header.shape_zyx(), DType::f32);
  const double slope = nim->scl_slope, inter = nim->scl_inter;
  const bool scaled = std::isfinite(slope) && slope != 0.0 && !(slope == 1.0 && (inter == 0.0 || !std::isfinite(inter)));
  const double inter_used = std::isfinite(inter) ? inter : 0.0;
  const int64_t n = nim->nvox;
  check(v.data.numel() == n && (int64_t)raw.size() == n * nim->nbyper, "read_nifti: ", path,
        ": inconsistent header (", n, " voxels for a tensor of shape ", v.data.shape(), ")");
  float* out = v.data.data<float>();
  std::pair<int64_t, int64_t> r;
  switch (nim->datatype) {
    case DT_UINT8: r = convert<uint8_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_INT8: r = convert<int8_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_INT16: r = convert<int16_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_UINT16: r = convert<uint16_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_INT32: r = convert<int32_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_UINT32: r = convert<uint32_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_INT64: r = convert<int64_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_UINT64: r = convert<uint64_t>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_FLOAT32: r = convert<float>(raw.data(), out, n, scaled, slope, inter_used); break;
    case DT_FLOAT64: r = convert<double>(raw.data(), out, n, scaled, slope, inter_used); break;
    default: fail("read_nifti: ", path, ": unsupported datatype");  // unreachable: checked in open_checked
  }
  if (r.first > 0) {
    const int64_t f = r.second, nx = v.header.dim[0], ny = v.header.dim[1];
    fail("read_nifti: ", path, ": ", r.first, " voxel(s) are NaN or Inf (first at i=", f % nx, ", j=", (f / nx) % ny,
         ", k=", f / (nx * ny), ")");
  }
  return v;
}

NiftiHeader make_nifti_header(const Shape& shape_zyx, std::array<double, 3> spacing_ijk, const Mat4* affine) {
  check(shape_zyx.size() == 3, "make_nifti_header: shape must be [Z,Y,X], got ", shape_zyx);
  for (auto s : shape_zyx) check(s >= 1, "make_nifti_header: invalid shape ", shape_zyx);
  for (double s : spacing_ijk) check(std::isfinite(s) && s > 0, "make_nifti_header: spacing must be > 0 mm");
  NiftiHeader h;
  h.dim = {shape_zyx[2], shape_zyx[1], shape_zyx[0]};
  h.pixdim = spacing_ijk;
  h.affine = affine ? *affine : diag_affine(spacing_ijk);
  h.qform = h.sform = h.affine;
  h.qform_code = h.sform_code = NIFTI_XFORM_ALIGNED_ANAT;
  h.orientation = orientation_string(h.affine);
  return h;
}

NiftiHeader regrid_header(const NiftiHeader& h, const Mat4& new_to_old, std::array<int64_t, 3> new_dim_ijk) {
  NiftiHeader g = h;
  g.dim = new_dim_ijk;
  g.qform = mat4_mul(h.qform, new_to_old);
  g.sform = mat4_mul(h.sform, new_to_old);
  g.affine = mat4_mul(h.affine, new_to_old);
  for (int c = 0; c < 3; ++c)
    g.pixdim[c] = std::sqrt(g.affine[0][c] * g.affine[0][c] + g.affine[1][c] * g.affine[1][c] +
                            g.affine[2][c] * g.affine[2][c]);
  g.orientation = orientation_string(g.affine);
  return g;
}

// ---- writing ---------------------------------------------------------------------------------

namespace {

bool ends_with(const std::string& s, const char* suf) {
  size_t n = std::strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

// Builds the 348-byte NIfTI-1 header with nifticlib.
nifti_1_header build_header(const NiftiHeader& h, int datatype, const std::string& path) {
  int64_t dims[8] = {3, h.dim[0], h.dim[1], h.dim[2], 1, 1, 1, 1};
  NimPtr nim(nifti_make_new_nim(dims, datatype, 0));
  check(nim != nullptr, "write_nifti: ", path, ": nifticlib could not create a header");
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->time_units = NIFTI_UNITS_UNKNOWN;
  double px[3] = {h.pixdim[0], h.pixdim[1], h.pixdim[2]};
  nim->qform_code = h.qform_code;
  if (h.qform_code > 0) {
    double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(to_dmat(h.qform), &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
    nim->quatern_b = qb; nim->quatern_c = qc; nim->quatern_d = qd;
    nim->qoffset_x = qx; nim->qoffset_y = qy; nim->qoffset_z = qz;
    nim->qfac = qfac;
    px[0] = dx; px[1] = dy; px[2] = dz;  // the qform's own voxel sizes, so it re-reads exactly
  }
  nim->dx = nim->pixdim[1] = px[0];
  nim->dy = nim->pixdim[2] = px[1];
  nim->dz = nim->pixdim[3] = px[2];
  nim->sform_code = h.sform_code;
  nim->sto_xyz = to_dmat(h.sform_code > 0 ? h.sform : mat4_identity());
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;
  nim->cal_min = nim->cal_max = 0.0;
  std::memset(nim->descrip, 0, sizeof(nim->descrip));
  std::strncpy(nim->descrip, h.descrip.c_str(), sizeof(nim->descrip) - 1);
  nim->iname_offset = 352;  // 348-byte header + 4-byte extender
  nifti_1_header hdr;
  check(nifti_convert_nim2n1hdr(nim.get(), &hdr) == 0, "write_nifti: ", path, ": nifticlib could not encode the header");
  hdr.vox_offset = 352.0f;
  std::memcpy(hdr.magic, "n+1\0", 4);
  return hdr;
}

}  // namespace

void write_nifti(const std::string& path, const Tensor& data, const NiftiHeader& header, NiftiWriteType type) {
  quiet_nifticlib();
  check(data.defined(), "write_nifti: ", path, ": undefined tensor");
  const Shape want = header.shape_zyx();
  check(data.shape() == want, "write_nifti: ", path, ": data shape ", data.shape(), " does not match the header's [Z,Y,X] ",
        want);
  const bool gz = ends_with(path, ".nii.gz");
  check(gz || ends_with(path, ".nii"), "write_nifti: ", path, ": the file name must end in .nii or .nii.gz");
  for (int64_t d : header.dim) check(d <= 32767, "write_nifti: ", path, ": dimension ", d, " exceeds NIfTI-1's 32767");

  // Voxels as float32 (contiguous), then checked and encoded.
  Tensor f = data.detach().to(DType::f32).contiguous();
  const float* src = f.data<float>();
  const int64_t n = f.numel();
  int64_t bad = 0, first = n;
  const bool u8 = type == NiftiWriteType::u8;
#pragma omp parallel for schedule(static) reduction(+ : bad) reduction(min : first) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) {
    const float x = src[v];
    const bool ok = std::isfinite(x) && (!u8 || (x > -0.5f && x < 255.5f));
    if (!ok) {
      ++bad;
      first = std::min(first, v);
    }
  }
  if (bad > 0)
    fail("write_nifti: ", path, ": ", bad, " voxel(s) ", u8 ? "are NaN/Inf or outside [0,255] for uint8" : "are NaN or Inf",
         " (first at linear index ", first, ", value ", src[first], ")");
  std::vector<uint8_t> bytes;
  const void* payload = src;
  size_t payload_size = (size_t)n * 4;
  if (u8) {
    bytes.resize((size_t)n);
    uint8_t* b = bytes.data();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t v = 0; v < n; ++v) b[v] = (uint8_t)std::lround(src[v]);
    payload = b;
    payload_size = (size_t)n;
  }
  nifti_1_header hdr = build_header(header, u8 ? DT_UINT8 : DT_FLOAT32, path);

  const std::string tmp = temp_path_for(path);
  znzFile fp = znzopen(tmp.c_str(), "wb", gz ? 1 : 0);
  if (znz_isnull(fp)) fail("write_nifti: ", path, ": cannot create a temporary file in the destination directory (", tmp, ")");
  bool ok = znzwrite(&hdr, sizeof(hdr), 1, fp) == 1;
  const char extender[4] = {0, 0, 0, 0};
  ok = ok && znzwrite(extender, 1, 4, fp) == 4;
  const size_t chunk = size_t(16) << 20;
  for (size_t off = 0; ok && off < payload_size; off += chunk) {
    size_t len = std::min(chunk, payload_size - off);
    ok = znzwrite(static_cast<const char*>(payload) + off, 1, len, fp) == len;
  }
  const int close_rc = Xznzclose(&fp);
  ok = ok && close_rc == 0;
  if (!commit_temp(tmp, path, ok))
    fail("write_nifti: ", path, ": write or rename failed (disk full or I/O error); nothing was written");
}

}  // namespace uad::io
