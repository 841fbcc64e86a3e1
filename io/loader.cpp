// Slice / volume mini-batch loaders with a background prefetch thread (see io/loader.h).
#include "io/loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "io/nifti.h"
#include "tensor/generator.h"

namespace uad::io {

namespace {

std::string join_keys(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

/// A loaded sample: its view's image / masks as contiguous tensors [Z,H,W] or [D,H,W].
struct Loaded {
  Tensor image, brain, anomaly;
};

}  // namespace

struct Loader::Impl {
  LoaderOptions opt;
  bool slices = true;
  std::vector<SampleEntry> samples;
  std::vector<Loaded> data;
  std::vector<LoaderItem> items;
  Shape item_shape;
  int64_t item_numel = 0;

  // Prefetch queue.
  enum class Kind { batch, epoch_end, stream_end, error };
  struct Slot {
    Kind kind = Kind::batch;
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Slot> queue;
  bool stop = false, closed = false, finished = false;
  std::thread worker;

  std::vector<int64_t> order(int64_t epoch) const {
    const int64_t n = (int64_t)items.size();
    std::vector<int64_t> o(n);
    for (int64_t i = 0; i < n; ++i) o[i] = i;
    if (!opt.shuffle || n < 2) return o;
    Generator g(opt.seed);
    g.set_state(opt.seed, (uint64_t)epoch << 32);
    const Tensor u = rand({n}, g, DType::f64);
    const double* up = u.data<double>();
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher–Yates, u_i picks j ∈ [0, i]
      const int64_t j = std::min<int64_t>(i, (int64_t)(up[i] * (double)(i + 1)));
      std::swap(o[i], o[j]);
    }
    return o;
  }

  int64_t batches() const {
    const int64_t n = (int64_t)items.size(), b = opt.batch_size;
    return opt.drop_last ? n / b : (n + b - 1) / b;
  }

  Batch assemble(const std::vector<int64_t>& ord, int64_t epoch, int64_t index) const {
    const int64_t b0 = index * opt.batch_size;
    const int64_t nb = std::min<int64_t>(opt.batch_size, (int64_t)ord.size() - b0);
    Shape shape{nb, 1};
    shape.insert(shape.end(), item_shape.begin(), item_shape.end());
    Batch out;
    out.epoch = epoch;
    out.index = index;
    out.image = empty(shape, DType::f32);
    out.brain = empty(shape, DType::u8);
    out.anomaly = empty(shape, DType::u8);
    float* ip = out.image.data<float>();
    uint8_t* bp = out.brain.data<uint8_t>();
    uint8_t* ap = out.anomaly.data<uint8_t>();
    for (int64_t k = 0; k < nb; ++k) {
      const int64_t it = ord[b0 + k];
      out.items.push_back(it);
      const LoaderItem& li = items[it];
      const Loaded& d = data[li.sample];
      const int64_t off = li.slice < 0 ? 0 : li.slice * item_numel;
      std::memcpy(ip + k * item_numel, d.image.data<float>() + off, sizeof(float) * item_numel);
      std::memcpy(bp + k * item_numel, d.brain.data<uint8_t>() + off, item_numel);
      std::memcpy(ap + k * item_numel, d.anomaly.data<uint8_t>() + off, item_numel);
    }
    return out;
  }

  /// Pushes a slot, waiting while the queue is full; false when stopped.
  bool push(Slot s) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return stop || (int64_t)queue.size() < opt.prefetch; });
    if (stop) return false;
    queue.push_back(std::move(s));
    cv.notify_all();
    return true;
  }

  void run() {
    try {
      for (int64_t e = 0; opt.max_epochs <= 0 || e < opt.max_epochs; ++e) {
        const auto ord = order(e);
        const int64_t nb = batches();
        for (int64_t b = 0; b < nb; ++b) {
          {
            std::lock_guard<std::mutex> lk(mu);
            if (stop) return;
          }
          Slot s;
          s.batch = assemble(ord, e, b);
          if (!push(std::move(s))) return;
        }
        Slot end;
        end.kind = Kind::epoch_end;
        if (!push(std::move(end))) return;
      }
      Slot end;
      end.kind = Kind::stream_end;
      push(std::move(end));
    } catch (...) {
      Slot s;
      s.kind = Kind::error;
      s.error = std::current_exception();
      push(std::move(s));
    }
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
      closed = true;
      cv.notify_all();
    }
    if (worker.joinable()) worker.join();
  }
};

Loader::Loader(const std::string& dir, const std::string& split, const std::string& view, const LoaderOptions& opt,
               bool slices)
    : impl_(std::make_unique<Impl>()) {
  const char* op = slices ? "SliceLoader" : "VolumeLoader";
  check(opt.batch_size >= 1, op, ": batch_size must be >= 1, got ", opt.batch_size);
  check(opt.prefetch >= 1, op, ": prefetch must be >= 1, got ", opt.prefetch);
  Impl& m = *impl_;
  m.opt = opt;
  m.slices = slices;
  const Manifest man = read_manifest(dir);
  {
    std::vector<std::string> names;
    for (const auto& [n, s] : man.splits) names.push_back(n);
    check(man.splits.count(split), op, ": split '", split, "' is not in ", dir, " (available: ", join_keys(names), ")");
    names.clear();
    for (const auto& [n, v] : man.views) names.push_back(n);
    check(man.views.count(view), op, ": view '", view, "' is not in ", dir, " (available: ", join_keys(names), ")");
    check(man.views.at(view).slices == slices, op, ": view '", view, "' holds ", slices ? "volumes" : "slices",
          "; use ", slices ? "VolumeLoader" : "SliceLoader");
  }
  namespace fs = std::filesystem;
  for (const SampleEntry* s : man.split_samples(split)) {
    auto it = s->views.find(view);
    if (it == s->views.end()) continue;
    const ViewEntry& v = it->second;
    std::string image_rel = v.image;
    if (!opt.modality.empty()) {
      std::vector<std::string> mods;
      for (const auto& [n, p] : v.modalities) mods.push_back(n);
      check(v.modalities.count(opt.modality), op, ": sample ", s->id, " has no modality '", opt.modality,
            "' (available: ", join_keys(mods), ")");
      image_rel = v.modalities.at(opt.modality);
    }
    Loaded d;
    auto load = [&](const std::string& rel, DType t) {
      const std::string path = (fs::path(dir) / rel).string();
      Tensor x = read_nifti(path).data;
      check(x.shape() == v.shape, op, ": ", path, " has shape ", x.shape(), " but the manifest says ", v.shape);
      return x.to(t).contiguous();
    };
    d.image = load(image_rel, DType::f32);
    d.brain = load(v.brain, DType::u8);
    d.anomaly = load(v.anomaly, DType::u8);
    const Shape item = slices ? Shape{v.shape[1], v.shape[2]} : v.shape;
    if (m.item_shape.empty()) m.item_shape = item;
    check(item == m.item_shape, op, ": sample ", s->id, " has item shape ", item, " but earlier samples ", m.item_shape);
    const int64_t si = (int64_t)m.samples.size();
    if (slices) {
      for (int64_t z : v.slices) m.items.push_back({si, z});
    } else {
      m.items.push_back({si, -1});
    }
    m.samples.push_back(*s);
    m.data.push_back(std::move(d));
  }
  check(!m.items.empty(), op, ": split '", split, "' has no ", slices ? "usable slice" : "volume", " in view '", view, "'");
  m.item_numel = numel_of(m.item_shape);
  check(m.batches() >= 1, op, ": drop_last with batch_size ", opt.batch_size, " leaves no batch of the ", m.items.size(),
        " items");
  m.worker = std::thread([this] { impl_->run(); });
}

Loader::~Loader() { close(); }

void Loader::close() {
  if (impl_) impl_->shutdown();
}

std::optional<Batch> Loader::next() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  check(!m.closed, "Loader::next: the loader was closed");
  if (m.finished) return std::nullopt;
  m.cv.wait(lk, [&] { return !m.queue.empty(); });
  Impl::Slot s = std::move(m.queue.front());
  m.queue.pop_front();
  m.cv.notify_all();
  switch (s.kind) {
    case Impl::Kind::batch: return std::move(s.batch);
    case Impl::Kind::epoch_end: return std::nullopt;
    case Impl::Kind::stream_end: m.finished = true; return std::nullopt;
    case Impl::Kind::error: m.finished = true; std::rethrow_exception(s.error);
  }
  return std::nullopt;
}

int64_t Loader::size() const { return (int64_t)impl_->items.size(); }
int64_t Loader::batches_per_epoch() const { return impl_->batches(); }
Shape Loader::item_shape() const { return impl_->item_shape; }
const std::vector<LoaderItem>& Loader::items() const { return impl_->items; }
const std::vector<SampleEntry>& Loader::samples() const { return impl_->samples; }
std::vector<int64_t> Loader::epoch_order(int64_t e) const { return impl_->order(e); }

}  // namespace uad::io
