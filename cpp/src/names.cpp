// parse_* and to_string for every enum of the public API, from the name tables (each generated
// from its descriptors' registry).
#include "names.hpp"

#include <string>

#include "fastbp/activation.hpp"
#include "fastbp/optimizer.hpp"

namespace fastbp {
namespace {

struct ScheduleName {
  ScheduleKind kind;
  const char* name;
  const char* alias;
};
constexpr ScheduleName kSchedules[] = {{ScheduleKind::constant, "constant", ""},
                                       {ScheduleKind::invscaling, "invscaling", ""},
                                       {ScheduleKind::step, "step", ""},
                                       {ScheduleKind::exponential, "exponential", ""},
                                       {ScheduleKind::plateau, "plateau", "adaptive"}};
const ScheduleName (&schedule_table())[5] { return kSchedules; }

}  // namespace

#define FASTBP_NAMES(Enum, parse, table, what)                       \
  Enum parse(const std::string& name) {                               \
    return detail::find_by_name(table(), name, what).kind;            \
  }                                                                   \
  const char* to_string(Enum value) { return detail::name_of(table(), value); }
FASTBP_NAMES(Activation, parse_activation, activation_table, "activation")
FASTBP_NAMES(Loss, parse_loss, loss_table, "loss")
FASTBP_NAMES(OptimizerKind, parse_optimizer, optimizer_table, "optimizer")
FASTBP_NAMES(ScheduleKind, parse_schedule, schedule_table, "learning-rate schedule")
#undef FASTBP_NAMES

}  // namespace fastbp
