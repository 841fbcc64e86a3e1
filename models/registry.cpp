// The model registry (models/model.h): every model by the name typed on the command line.
#include <string>

#include "models/adversarial.h"
#include "models/baur2018.h"
#include "models/fanogan2d.h"
#include "models/fanogan3d.h"
#include "models/gmvae.h"
#include "models/model.h"
#include "models/mood_vae.h"
#include "models/scale_space_ae.h"
#include "models/skip_ae.h"
#include "models/unified.h"

namespace uad::models {

namespace {

/// The unified 2-D family of 003 (models/unified*.cpp).
std::vector<ModelSpec> unified_family() {
  const UnifiedConfig u;  // 128×128, bottleneck 8×8, z 128, dropout 0.2 (models/unified.h)
  const Shape s2{1, u.image_size, u.image_size};
  return {
      {"ae_dense", s2, "003 §III.B Autoencoders 1 (AE dense, z 128); domain_spec §1.2-1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<UnifiedAE>(u, false, g); }},
      {"ae_spatial", s2, "003 §III.B Autoencoders 2 (AE spatial, z 8x8x128); domain_spec §1.2-1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<UnifiedAE>(u, true, g); }},
      {"vae", s2, "003 §III.B Latent Variable Models 1 (VAE, z 128); domain_spec §1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<UnifiedVAE>(u, g); }},
      {"context_ae", s2, "003 §III.B Autoencoders 3 (Context AE, Zimmerer et al.); domain_spec §1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<ContextAE>(u, g); }},
      {"context_vae", s2, "003 §III.B Latent Variable Models 2 (Context VAE, Zimmerer et al.); domain_spec §1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<ContextVAE>(u, g); }},
      {"constrained_ae", s2, "003 §III.B Autoencoders 4 (Constrained AE, Chen & Konukoglu, rho 1); domain_spec §1.3",
       [u](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<ConstrainedAE>(u, g); }},
  };
}

/// Every family, in registry order. A new family adds its `*_family()` (declared in its own
/// header) here — one line.
std::vector<ModelSpec> build_registry() {
  std::vector<ModelSpec> r;
  for (auto family : {unified_family, fanogan2d_family, gmvae_family, skip_ae_family, scale_space_family,
                      baur2018_family, adversarial_family, fanogan_family, mood_family}) {
    std::vector<ModelSpec> f = family();
    r.insert(r.end(), f.begin(), f.end());
  }
  return r;
}

}  // namespace

const std::vector<ModelSpec>& registry() {
  static const std::vector<ModelSpec> r = build_registry();
  return r;
}

const ModelSpec& find_model(const std::string& name) {
  std::string names;
  for (const ModelSpec& s : registry()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  fail("unknown model '", name, "'; valid names: ", names);
}

}  // namespace uad::models
