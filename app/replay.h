// `sitepulse replay`: backtest a configuration on history with the same engine as `run`
// (app/run_options.h builds both), score it against known incidents, compare it with another
// configuration, write a report a person tunes from (app/replay_report.h), and gate CI on
// recall and false pages (exit 4). docs/replay.md.
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

int ReplayMain(const std::vector<std::string>& args);

}  // namespace sitepulse
