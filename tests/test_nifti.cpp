// NIfTI I/O: round trips for every datatype on synthetic files written with nifticlib, parity with
// nibabel (tests/io_ref/nib_dump.py) on Colin27 (mricron-data), the ITK example T1 and
// ../shared/data when present, and the documented error for each kind of bad file.
#include <gtest/gtest.h>
#include <nifti2_io.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>

#include "tests/error_of.h"
#include "io/geometry.h"
#include "io/nifti.h"
#include "tests/io_ref/io_test_util.h"
#include "tests/npy.h"

using namespace uad;
using namespace uad::io;
using namespace uad::test;

namespace {

const char* kColin = "/usr/share/mricron/templates/ch2bet.nii.gz";
const char* kItkT1 = "/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1RawSkullStrip.nii.gz";
const std::string kShared = std::string(UAD_SOURCE_DIR) + "/../shared/data";

// An LAS affine with a rotation-free 2×3×4 mm grid (qform) and an sform shifted by 1 mm in x,
// so that the sform's precedence is visible.
Mat4 las_affine() {
  Mat4 a = mat4_identity();
  a[0][0] = -2;
  a[1][1] = 3;
  a[2][2] = 4;
  a[0][3] = 20;
  a[1][3] = -30;
  a[2][3] = -12;
  return a;
}

// Writes raw voxel values (file order, i fastest) of datatype `dt` with nifticlib's own writer.
void write_raw(const std::string& path, int dt, std::array<int64_t, 4> n, const std::vector<double>& raw, double slope,
               double inter, bool force_4d = false) {
  int64_t dims[8] = {n[3] > 1 || force_4d ? 4 : 3, n[0], n[1], n[2], n[3], 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, dt, 1);
  ASSERT_NE(nim, nullptr);
  ASSERT_EQ((int64_t)raw.size(), nim->nvox);
  for (size_t v = 0; v < raw.size(); ++v) {
    switch (dt) {
      case DT_UINT8: static_cast<uint8_t*>(nim->data)[v] = (uint8_t)raw[v]; break;
      case DT_INT8: static_cast<int8_t*>(nim->data)[v] = (int8_t)raw[v]; break;
      case DT_INT16: static_cast<int16_t*>(nim->data)[v] = (int16_t)raw[v]; break;
      case DT_UINT16: static_cast<uint16_t*>(nim->data)[v] = (uint16_t)raw[v]; break;
      case DT_INT32: static_cast<int32_t*>(nim->data)[v] = (int32_t)raw[v]; break;
      case DT_UINT32: static_cast<uint32_t*>(nim->data)[v] = (uint32_t)raw[v]; break;
      case DT_FLOAT32: static_cast<float*>(nim->data)[v] = (float)raw[v]; break;
      case DT_FLOAT64: static_cast<double*>(nim->data)[v] = raw[v]; break;
      default: FAIL() << "datatype";
    }
  }
  Mat4 q = las_affine(), s = las_affine();
  s[0][3] += 1.0;
  nifti_dmat44 qm, sm;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) qm.m[r][c] = q[r][c], sm.m[r][c] = s[r][c];
  double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_dmat44_to_quatern(qm, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  nim->quatern_b = qb, nim->quatern_c = qc, nim->quatern_d = qd;
  nim->qoffset_x = qx, nim->qoffset_y = qy, nim->qoffset_z = qz, nim->qfac = qfac;
  nim->dx = nim->pixdim[1] = dx, nim->dy = nim->pixdim[2] = dy, nim->dz = nim->pixdim[3] = dz;
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = sm;
  nim->sform_code = NIFTI_XFORM_MNI_152;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->scl_slope = slope;
  nim->scl_inter = inter;
  ASSERT_EQ(nifti_set_filenames(nim, path.c_str(), 0, 1), 0);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_image_write(nim);
  nifti_image_free(nim);
}

void expect_mat_near(const Mat4& a, const Mat4& b, double tol, const std::string& what) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(a[r][c], b[r][c], tol) << what << " [" << r << "][" << c << "]";
}

Mat4 mat_of_npy(const Tensor& t) {
  Mat4 m;
  auto v = t.to_vector();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m[r][c] = v[r * 4 + c];
  return m;
}

void expect_same_voxels(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  Tensor x = a.to(DType::f32).contiguous(), y = b.to(DType::f32).contiguous();
  const float *p = x.data<float>(), *q = y.data<float>();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (p[i] != q[i] && !(std::fabs(p[i] - q[i]) <= 1e-6f * std::fabs(q[i]))) {
      if (first < 0) first = i;
      ++bad;
    }
  EXPECT_EQ(bad, 0) << what << ": first mismatch at " << first << " (" << (first >= 0 ? p[first] : 0) << " vs "
                    << (first >= 0 ? q[first] : 0) << ")";
}

// Reads `path` with uad and nibabel and compares shape, voxels, affine, pixdim, codes and
// orientation, then the RAS reorientation against nib.as_closest_canonical.
void expect_nibabel_parity(const std::string& path) {
  SCOPED_TRACE(path);
  TempDir dir("nibref");
  ASSERT_EQ(run_io_ref("nib_dump.py", path + " " + dir.path), 0) << "nib_dump.py failed on " << path;
  NiftiVolume v = read_nifti(path);
  expect_same_voxels(v.data, read_npy(dir / "data.npy"), "voxels");
  expect_mat_near(v.header.affine, mat_of_npy(read_npy(dir / "affine.npy")), 1e-4, "affine");
  std::ifstream meta(dir / "meta.txt");
  std::string key;
  while (meta >> key) {
    if (key == "shape") {
      int64_t x, y, z;
      meta >> x >> y >> z;
      EXPECT_EQ(v.header.dim, (std::array<int64_t, 3>{x, y, z}));
    } else if (key == "pixdim") {
      double a, b, c;
      meta >> a >> b >> c;
      EXPECT_NEAR(v.header.pixdim[0], a, 1e-5);
      EXPECT_NEAR(v.header.pixdim[1], b, 1e-5);
      EXPECT_NEAR(v.header.pixdim[2], c, 1e-5);
    } else if (key == "orientation") {
      std::string o;
      meta >> o;
      EXPECT_EQ(v.header.orientation, o);
    } else if (key == "qform_code") {
      int q;
      meta >> q;
      EXPECT_EQ(v.header.qform_code, q);
    } else if (key == "sform_code") {
      int s;
      meta >> s;
      EXPECT_EQ(v.header.sform_code, s);
    }
  }
  NiftiVolume ras = reorient_to_ras(v);
  EXPECT_EQ(ras.header.orientation, "RAS");
  expect_same_voxels(ras.data, read_npy(dir / "canon_data.npy"), "canonical voxels");
  expect_mat_near(ras.header.affine, mat_of_npy(read_npy(dir / "canon_affine.npy")), 1e-4, "canonical affine");
}

struct DtCase {
  int dt;
  double lo, hi, slope, inter;
};

}  // namespace

TEST(Nifti, RoundTripEveryDatatype) {
  const std::vector<DtCase> cases = {
      {DT_UINT8, 0, 255, 0, 0},        {DT_INT8, -128, 127, 2, 1},      {DT_INT16, -2000, 2000, 0.5, -3},
      {DT_UINT16, 0, 60000, 1, 0},     {DT_INT32, -1e6, 1e6, 0.25, 7},  {DT_UINT32, 0, 3e6, 0, 0},
      {DT_FLOAT32, -5, 5, 0, 0},       {DT_FLOAT64, -1e3, 1e3, 3, 0.5},
  };
  const std::array<int64_t, 4> n{5, 4, 3, 1};
  std::mt19937 g(7);
  for (const DtCase& c : cases) {
    SCOPED_TRACE(nifti_datatype_to_string(c.dt));
    TempDir dir("nifti_rt");
    std::vector<double> raw(60);
    std::uniform_real_distribution<double> u(c.lo, c.hi);
    for (double& r : raw) r = (c.dt == DT_FLOAT32 || c.dt == DT_FLOAT64) ? u(g) : std::round(u(g));
    for (const char* ext : {".nii", ".nii.gz"}) {
      const std::string src = dir / (std::string("src") + ext);
      write_raw(src, c.dt, n, raw, c.slope, c.inter);
      NiftiVolume v = read_nifti(src);
      ASSERT_EQ(v.data.shape(), (Shape{3, 4, 5}));
      const bool scaled = c.slope != 0 && !(c.slope == 1 && c.inter == 0);
      auto got = v.data.to_vector();
      for (size_t i = 0; i < raw.size(); ++i) {
        const double stored = c.dt == DT_FLOAT32 ? (double)(float)raw[i] : raw[i];
        ASSERT_EQ(got[i], (double)(float)(scaled ? stored * c.slope + c.inter : stored)) << "voxel " << i;
      }
      EXPECT_EQ(v.header.datatype, c.dt);
      EXPECT_EQ(v.header.dim, (std::array<int64_t, 3>{5, 4, 3}));
      EXPECT_EQ(v.header.pixdim, (std::array<double, 3>{2, 3, 4}));
      EXPECT_EQ(v.header.qform_code, NIFTI_XFORM_SCANNER_ANAT);
      EXPECT_EQ(v.header.sform_code, NIFTI_XFORM_MNI_152);
      EXPECT_EQ(v.header.orientation, "LAS");
      expect_mat_near(v.header.qform, las_affine(), 1e-6, "qform");
      Mat4 s = las_affine();
      s[0][3] += 1;
      expect_mat_near(v.header.sform, s, 0, "sform");
      expect_mat_near(v.header.affine, s, 0, "affine = sform");

      // Our writer keeps values (float32), affines, codes and orientation.
      const std::string out = dir / (std::string("out") + ext);
      write_nifti(out, v);
      NiftiVolume w = read_nifti(out);
      expect_same_voxels(w.data, v.data, "f32 round trip");
      EXPECT_EQ(w.header.datatype, DT_FLOAT32);
      EXPECT_EQ(w.header.qform_code, v.header.qform_code);
      EXPECT_EQ(w.header.sform_code, v.header.sform_code);
      EXPECT_EQ(w.header.orientation, "LAS");
      expect_mat_near(w.header.qform, v.header.qform, 1e-5, "written qform");
      expect_mat_near(w.header.sform, v.header.sform, 1e-5, "written sform");
      EXPECT_EQ(w.header.pixdim, v.header.pixdim);
    }
    if (c.dt == DT_UINT8) {  // integral data in [0,255] survive a uint8 write exactly
      NiftiVolume v = read_nifti(dir / "src.nii");
      write_nifti(dir / "u8.nii.gz", v, NiftiWriteType::u8);
      NiftiVolume w = read_nifti(dir / "u8.nii.gz");
      EXPECT_EQ(w.header.datatype, DT_UINT8);
      expect_same_voxels(w.data, v.data, "u8 round trip");
      expect_mat_near(w.header.affine, v.header.affine, 1e-5, "u8 affine");
    }
  }
}

// Writes int16 voxels 0..59 on a 5×4×3 LAS grid by hand, as NIfTI-1 or NIfTI-2, little- or
// big-endian (nifticlib 3.0.1's nifti_image_write cannot write single-file NIfTI-2: it reopens
// the file for the voxels and overwrites the header).
void write_manual(const std::string& path, int version, bool big_endian) {
  int64_t dims[8] = {3, 5, 4, 3, 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, DT_INT16, 0);
  ASSERT_NE(nim, nullptr);
  nim->dx = nim->pixdim[1] = 2, nim->dy = nim->pixdim[2] = 3, nim->dz = nim->pixdim[3] = 4;
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) nim->sto_xyz.m[r][c] = las_affine()[r][c];
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->nifti_type = version == 2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
  std::vector<char> bytes;
  if (version == 1) {
    nifti_1_header h;
    ASSERT_EQ(nifti_convert_nim2n1hdr(nim, &h), 0);
    h.vox_offset = 352;
    std::memcpy(h.magic, "n+1\0", 4);
    if (big_endian) swap_nifti_header(&h, 1);
    bytes.assign(reinterpret_cast<char*>(&h), reinterpret_cast<char*>(&h) + sizeof(h));
  } else {
    nifti_2_header h;
    ASSERT_EQ(nifti_convert_nim2n2hdr(nim, &h), 0);
    h.vox_offset = 544;
    std::memcpy(h.magic, "n+2\0\r\n\032\n", 8);
    if (big_endian) swap_nifti_header(&h, 2);
    bytes.assign(reinterpret_cast<char*>(&h), reinterpret_cast<char*>(&h) + sizeof(h));
  }
  nifti_image_free(nim);
  bytes.resize(bytes.size() + 4, 0);
  for (int16_t v = 0; v < 60; ++v) {
    const char* b = reinterpret_cast<const char*>(&v);
    if (big_endian) bytes.insert(bytes.end(), {b[1], b[0]});
    else bytes.insert(bytes.end(), {b[0], b[1]});
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), (std::streamsize)bytes.size());
}

TEST(Nifti, Nifti2AndBigEndian) {
  TempDir dir("nifti_v2");
  std::vector<double> want(60);
  for (size_t i = 0; i < want.size(); ++i) want[i] = (double)i;
  for (int version : {1, 2})
    for (bool big : {false, true}) {
      SCOPED_TRACE("NIfTI-" + std::to_string(version) + (big ? " big-endian" : " little-endian"));
      std::string name = version == 1 ? "v1" : "v2";
      name += big ? "be.nii" : "le.nii";
      const std::string p = dir / name;
      write_manual(p, version, big);
      NiftiVolume v = read_nifti(p);
      EXPECT_EQ(v.header.nifti_version, version);
      EXPECT_EQ(v.header.orientation, "LAS");
      expect_mat_near(v.header.affine, las_affine(), 0, "affine");
      EXPECT_EQ(v.data.shape(), (Shape{3, 4, 5}));
      EXPECT_EQ(v.data.to_vector(), want);
    }
}

TEST(Nifti, FourDimensionalWithOneTimePoint) {
  TempDir dir("nifti_t1");
  std::vector<double> raw(60);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = (double)i;
  write_raw(dir / "t1.nii.gz", DT_INT16, {5, 4, 3, 1}, raw, 0, 0, /*force_4d=*/true);
  EXPECT_EQ(read_nifti_header(dir / "t1.nii.gz").dim, (std::array<int64_t, 3>{5, 4, 3}));
  NiftiVolume b = read_nifti(dir / "t1.nii.gz");
  EXPECT_EQ(b.data.shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(b.data.to_vector(), raw);
}

TEST(Nifti, WrittenFileMatchesNibabel) {
  if (!python_has("nibabel")) GTEST_SKIP() << "/usr/bin/python3 cannot import nibabel (apt-get install python3-nibabel)";
  TempDir dir("nifti_nib");
  Tensor x = uniform_f32({6, 7, 8}, 3, -100.f, 100.f);
  Mat4 a = las_affine();
  a[0][1] = 0.3;  // a sheared sform: only the sform can hold it, the qform keeps the rigid part
  NiftiHeader h = make_nifti_header({6, 7, 8}, {2, 3, 4}, &a);
  h.qform = las_affine();
  write_nifti(dir / "x.nii.gz", x, h);
  expect_nibabel_parity(dir / "x.nii.gz");
}

TEST(Nifti, ColinParityWithNibabel) {
  if (!std::filesystem::exists(kColin)) GTEST_SKIP() << kColin << " absent (apt-get install mricron-data)";
  if (!python_has("nibabel")) GTEST_SKIP() << "/usr/bin/python3 cannot import nibabel (apt-get install python3-nibabel)";
  NiftiHeader h = read_nifti_header(kColin);
  EXPECT_EQ(h.dim, (std::array<int64_t, 3>{181, 217, 181}));
  EXPECT_EQ(h.datatype, DT_UINT8);
  expect_nibabel_parity(kColin);
}

TEST(Nifti, ItkExampleT1ParityWithNibabel) {  // LSA: a real volume that needs an axis permutation
  if (!std::filesystem::exists(kItkT1)) GTEST_SKIP() << kItkT1 << " absent (apt-get install insighttoolkit5-examples)";
  if (!python_has("nibabel")) GTEST_SKIP() << "/usr/bin/python3 cannot import nibabel (apt-get install python3-nibabel)";
  EXPECT_EQ(read_nifti_header(kItkT1).orientation, "LSA");
  expect_nibabel_parity(kItkT1);
}

TEST(Nifti, SharedDataParityWithNibabel) {
  if (!std::filesystem::exists(kShared)) GTEST_SKIP() << kShared << " absent: the shared development data is optional";
  if (!python_has("nibabel")) GTEST_SKIP() << "/usr/bin/python3 cannot import nibabel (apt-get install python3-nibabel)";
  const std::vector<std::string> files = {
      "mslub/patient07/T1_N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI.nii.gz",   // float32, LAS
      "mslub/patient07/GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz",  // uint8 mask
      "ixi/IXI002/hd_bet_IXI002-Guys-0828-T2.nii.gz",                                      // int16, anisotropic
      "icbm152_2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",                    // uint8, RAS
  };
  int seen = 0;
  for (const auto& f : files) {
    const std::string p = kShared + "/" + f;
    if (!std::filesystem::exists(p)) continue;
    ++seen;
    expect_nibabel_parity(p);
  }
  if (seen == 0) GTEST_SKIP() << "none of the expected files is in " << kShared;
}

// ---- bad input: one documented error each, and nothing written -------------------------------

TEST(NiftiErrors, MissingFile) {
  TempDir dir("nifti_err");
  std::string e = error_of([&] { read_nifti(dir / "nope.nii.gz"); });
  EXPECT_NE(e.find("nope.nii.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("file not found"), std::string::npos) << e;
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(NiftiErrors, RandomBytesAndEmptyFile) {
  TempDir dir("nifti_err");
  std::mt19937 g(1);
  for (const char* name : {"rand.nii", "rand.nii.gz", "empty.nii"}) {
    std::ofstream f(dir / name, std::ios::binary);
    if (std::string(name) != "empty.nii")
      for (int i = 0; i < 4096; ++i) f.put((char)(g() & 0xff));
  }
  for (const char* name : {"rand.nii", "rand.nii.gz", "empty.nii"}) {
    std::string e = error_of([&] { read_nifti(dir / name); });
    EXPECT_NE(e.find(name), std::string::npos) << e;
    EXPECT_NE(e.find("not a NIfTI file"), std::string::npos) << e;
  }
  EXPECT_EQ(dir.entries(), 3u);
}

TEST(NiftiErrors, TruncatedFiles) {
  TempDir dir("nifti_err");
  Tensor x = uniform_f32({20, 20, 20}, 5);
  NiftiHeader h = make_nifti_header({20, 20, 20});
  write_nifti(dir / "full.nii.gz", x, h);
  write_nifti(dir / "full.nii", x, h);
  for (const char* name : {"full.nii.gz", "full.nii"}) {
    const std::string full = dir / name;
    const auto size = std::filesystem::file_size(full);
    const std::string cut = dir / (std::string("cut_") + name);
    std::filesystem::copy_file(full, cut);
    std::filesystem::resize_file(cut, size / 2);
    std::string e = error_of([&] { read_nifti(cut); });
    EXPECT_NE(e.find(cut), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  }
  // A .nii.gz cut inside the header.
  std::filesystem::copy_file(dir / "full.nii.gz", dir / "head.nii.gz");
  std::filesystem::resize_file(dir / "head.nii.gz", 100);
  std::string e = error_of([&] { read_nifti(dir / "head.nii.gz"); });
  EXPECT_NE(e.find("header is truncated or corrupt"), std::string::npos) << e;
  EXPECT_EQ(dir.entries(), 5u);
}

TEST(NiftiErrors, FourDimensionalAndNaN) {
  TempDir dir("nifti_err");
  std::vector<double> raw(5 * 4 * 3 * 2, 1.0);
  write_raw(dir / "t2.nii.gz", DT_FLOAT32, {5, 4, 3, 2}, raw, 0, 0);
  std::string e = error_of([&] { read_nifti(dir / "t2.nii.gz"); });
  EXPECT_NE(e.find("4-D data with t = 2"), std::string::npos) << e;
  EXPECT_NE(e.find("t2.nii.gz"), std::string::npos) << e;

  std::vector<double> vals(60, 2.0);
  vals[17] = std::nan("");  // i = 2, j = 3, k = 0
  vals[40] = INFINITY;
  write_raw(dir / "nan.nii", DT_FLOAT32, {5, 4, 3, 1}, vals, 0, 0);
  e = error_of([&] { read_nifti(dir / "nan.nii"); });
  EXPECT_NE(e.find("2 voxel(s) are NaN or Inf (first at i=2, j=3, k=0)"), std::string::npos) << e;
  vals[17] = vals[40] = 1e10;
  write_raw(dir / "inf_scaled.nii", DT_FLOAT64, {5, 4, 3, 1}, vals, 1e30, 0);  // finite raw and slope, Inf in float32
  e = error_of([&] { read_nifti(dir / "inf_scaled.nii"); });
  EXPECT_NE(e.find("NaN or Inf"), std::string::npos) << e;
  EXPECT_EQ(dir.entries(), 3u);
}

TEST(NiftiErrors, WriteFailuresLeaveNothing) {
  TempDir dir("nifti_err");
  NiftiHeader h = make_nifti_header({2, 3, 4});
  Tensor x = uniform_f32({2, 3, 4}, 9);
  write_nifti(dir / "keep.nii.gz", x, h);
  const auto before = std::filesystem::file_size(dir / "keep.nii.gz");

  Tensor bad = x.clone();
  bad.data<float>()[5] = std::nan("");
  std::string e = error_of([&] { write_nifti(dir / "keep.nii.gz", bad, h); });
  EXPECT_NE(e.find("NaN or Inf"), std::string::npos) << e;
  Tensor big = full({2, 3, 4}, 300.0);
  e = error_of([&] { write_nifti(dir / "u8.nii", big, h, NiftiWriteType::u8); });
  EXPECT_NE(e.find("outside [0,255]"), std::string::npos) << e;
  e = error_of([&] { write_nifti(dir / "shape.nii", uniform_f32({3, 3, 4}, 1), h); });
  EXPECT_NE(e.find("does not match"), std::string::npos) << e;
  e = error_of([&] { write_nifti(dir / "x.img", x, h); });
  EXPECT_NE(e.find(".nii or .nii.gz"), std::string::npos) << e;
  e = error_of([&] { write_nifti(dir / "no/such/dir/x.nii", x, h); });
  EXPECT_NE(e.find("cannot create a temporary file"), std::string::npos) << e;
  EXPECT_EQ(dir.entries(), 1u) << "a failed write left a file behind";
  EXPECT_EQ(std::filesystem::file_size(dir / "keep.nii.gz"), before);
  expect_same_voxels(read_nifti(dir / "keep.nii.gz").data, x, "untouched");
}

TEST(NiftiErrors, MutatedFilesNeverCrash) {
  // Random byte changes in the header (and, for .nii.gz, anywhere in the compressed stream): each
  // read either succeeds or throws uad::Error — never a crash, hang or other exception.
  TempDir dir("nifti_fuzz");
  std::vector<double> raw(60);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = (double)i;
  write_raw(dir / "seed.nii", DT_INT16, {5, 4, 3, 1}, raw, 0, 0);
  write_raw(dir / "seed.nii.gz", DT_INT16, {5, 4, 3, 1}, raw, 0, 0);
  std::mt19937 g(11);
  int errors = 0, reads = 0;
  for (const char* seed : {"seed.nii", "seed.nii.gz"}) {
    std::ifstream f(dir / seed, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t span = std::string(seed) == "seed.nii" ? 352 : bytes.size();
    for (int it = 0; it < 300; ++it) {
      std::string m = bytes;
      const int flips = 1 + (int)(g() % 4);
      for (int k = 0; k < flips; ++k) m[g() % span] = (char)(g() & 0xff);
      const std::string p = dir / (std::string("m_") + seed);
      std::ofstream(p, std::ios::binary).write(m.data(), (std::streamsize)m.size());
      try {
        NiftiVolume v = read_nifti(p);
        ++reads;
        EXPECT_EQ(v.data.shape(), v.header.shape_zyx());
      } catch (const uad::Error&) {
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(reads, 0);
}
