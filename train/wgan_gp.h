// WGAN-GP training of a generator/critic pair and the f-AnoGAN encoder training izi_f, as library
// functions (001_ee3d74e7538cde67.txt §2 "Training strategy" 1-2, Eq. 2-6; Gulrajani et al. 2017;
// domain_spec §3: λ 10, n_critic 5, Adam lr 1e-4 β = (0, 0.9); izi_f κ 1, RMSProp lr 5e-5 [FA] or
// Adam(1e-4, (0, 0.9)) [FAP]).
//
// Networks: G is any nn::Module mapping z [N,L] → x̃ (the shape of a real batch); D is a
// models::FeatureCritic (score [N,1] and features); E maps x → z [N,L]. Every random draw (z, the
// interpolation ε) comes from the Generator argument. The real batches are in the networks' range
// ([−1,1] for the tanh generators). Typical use (n_critic = 5 real batches per iteration):
//   train::Adam opt_d(D.parameters(), wgan_adam(1e-4)), opt_g(G.parameters(), wgan_adam(1e-4));
//   gan_iteration(G, D, opt_g, opt_d, {x1, x2, x3, x4, x5}, latent, gen);   // repeat
//   train::RMSProp opt_e(E.parameters(), {.lr = 5e-5});
//   encoder_izif_step(E, G, D, opt_e, x, kappa);                             // repeat
//   train::Adam opt_r(refine_parameters(E, G), {.lr = 1e-4});
//   refine_step(E, G, D, opt_r, x, kappa);                                   // repeat (001 step 3)
#pragma once
#include <vector>

#include "models/fanogan3d.h"
#include "train/optim.h"
#include "train/rmsprop.h"

namespace uad::train {

/// Adam options of WGAN-GP: β = (0, 0.9) (Gulrajani et al. Alg. 1; domain_spec §3).
AdamOptions wgan_adam(double lr = 1e-4);

/// λ·mean_n (‖∇_x̂ D(x̂)_n‖₂ − 1)², x̂ = ε·real + (1 − ε)·fake (the penalty term of 001 Eq. 2;
/// Gulrajani et al. Alg. 1), the gradient taken per sample over all non-batch dims with
/// grad(..., create_graph = true), so the result is differentiable w.r.t. D's parameters.
/// real, fake: [N, *] (same shape; treated as constants); eps: [N,1,...,1] (rank of real) in
/// [0,1]; critic(x̂) must be [N,1] or [N]. Returns a scalar. Under a NoGradGuard the value is
/// still computed (∇D is taken with recording switched on locally) but is not differentiable. Throws uad::Error naming the shapes
/// when real, fake and eps disagree.
Tensor gradient_penalty(nn::Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps, double lambda);

/// The losses of one critic step (plain numbers, for logging).
struct CriticStepStats {
  double loss;         // L_D of Eq. 2 (with the penalty)
  double wasserstein;  // mean D(real) − mean D(fake) (the critic's estimate, before the update)
  double penalty;      // λ·E[(‖∇D(x̂)‖ − 1)²]
};

/// One critic update (Eq. 2): z ~ N(0, I) [N,latent] and ε ~ U[0,1] [N,1,..] from g, x̃ = G(z)
/// without recording (G gets no gradients, but G's batch-norm statistics follow its mode),
/// L_D = mean D(x̃) − mean D(real) + gradient_penalty(D, real, x̃, ε, λ); D's grads zeroed, L_D
/// backpropagated, opt_d.step(). real: [N, ...] the shape G produces. Throws uad::Error when
/// G's output shape differs from real's.
CriticStepStats critic_step(nn::Module& G, models::FeatureCritic& D, Adam& opt_d, const Tensor& real, int64_t latent,
                            Generator& g, double lambda = 10.0);

/// One generator update (Eq. 3): z ~ N(0, I) [n,latent] (G's parameter dtype) from g, L_G = −mean D(G(z)) with D
/// frozen (no gradients into D, its requires_grad restored afterwards), opt_g.step(). Returns L_G
/// (before the update).
double generator_step(nn::Module& G, models::FeatureCritic& D, Adam& opt_g, int64_t n, int64_t latent, Generator& g);

struct GanIterationStats {
  CriticStepStats critic;  // the last critic step
  double generator_loss;
};
/// One WGAN-GP iteration (Gulrajani et al. Alg. 1): a critic_step per real batch (n_critic =
/// real_batches.size(), 5 in 001/domain_spec), then one generator_step with the last batch's
/// size. Throws uad::Error for an empty list.
GanIterationStats gan_iteration(nn::Module& G, models::FeatureCritic& D, Adam& opt_g, Adam& opt_d,
                                const std::vector<Tensor>& real_batches, int64_t latent, Generator& g,
                                double lambda = 10.0);

/// The losses of one izi_f step (before the update).
struct IzifStepStats {
  double loss, img, feat;
};
/// One encoder update of izi_f (001 Eq. 4-6; models::izif_terms): G and D frozen (no gradients,
/// eval mode so their batch-norm statistics do not move; both restored afterwards), only E's
/// parameters get gradients; E's grads zeroed, L_E backpropagated, opt.step(). x: a real batch
/// in network range. The Adam overload is [FAP]'s choice, RMSProp [FA]'s.
IzifStepStats encoder_izif_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, RMSProp& opt, const Tensor& x,
                                double kappa = 1.0);
IzifStepStats encoder_izif_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, Adam& opt, const Tensor& x,
                                double kappa = 1.0);

/// E's parameters followed by G's (the parameter list of the refinement optimiser).
std::vector<Tensor> refine_parameters(nn::Module& E, nn::Module& G);

/// One refinement update of 001 §2 "Training strategy" 3 ("Techniques for improving the
/// performance": after the encoder training, a fine-tuning step in which "optimizing the weights
/// of E and G while minimizing L_Encoder is the most convenient training strategy"; its Table S2
/// is not in the text we have):
///   L_E = ‖x − G(E(x))‖²/n + κ·‖f(x) − f(G(E(x)))‖²/m   (Eq. 4-6, models::izif_terms)
/// minimised jointly over θ_E and θ_G: grads of E and G zeroed, L_E backpropagated into both,
/// opt.step() (opt is built over refine_parameters(E, G), one Adam for both networks). D is
/// frozen (no gradients, eval mode, restored afterwards), so D's parameters are left identical.
/// G runs in eval mode (our choice; restored afterwards): its batch-norm layers use the running
/// statistics of the WGAN-GP phase while its weights (and BN affines) are fine-tuned, so the
/// objective minimised is exactly the one validation and the anomaly score evaluate (eval-mode
/// G), as in the encoder phase; E is used in its current mode (training). x: a real batch in
/// network range, [N,1,H,W] or [N,1,D,H,W]. Returns the terms before the update. Throws
/// uad::Error (from izif_terms) when G(E(x)) and x differ in shape.
IzifStepStats refine_step(nn::Module& E, nn::Module& G, models::FeatureCritic& D, Adam& opt, const Tensor& x,
                          double kappa = 1.0);

/// The anomaly score A(x) of 001 ("Anomaly score", = Eq. 6 per image) / [FA]
/// anomaly_detection.py: mean_vox (x − G(E(x)))² + κ·mean_feat (f(x) − f(G(E(x))))², per
/// sample [N], without recording; E, G, D are used in their current modes (call eval()).
Tensor anomaly_score(nn::Module& E, nn::Module& G, models::FeatureCritic& D, const Tensor& x, double kappa = 1.0);

}  // namespace uad::train
