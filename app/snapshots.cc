#include "app/snapshots.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

Snapshots::Snapshots(const PipelineOptions& options, EngineSet* engines, PipelineSinks* sinks,
                     KafkaCheckpointer* checkpointer, bool state_topic)
    : options_(options),
      engines_(engines),
      sinks_(sinks),
      checkpointer_(checkpointer),
      state_topic_(state_topic) {}

absl::Status Snapshots::Restore() {
  if (!options_.state_file.empty()) {
    if (FILE* f = std::fopen(options_.state_file.c_str(), "rb")) {
      // Line by line: a large state is never held whole in memory next to the restored one.
      const absl::Status st = engines_->shared().LoadState([f](std::string* line) {
        line->clear();
        int c;
        while ((c = std::getc(f)) != EOF && c != '\n') line->push_back(static_cast<char>(c));
        return c != EOF || !line->empty();
      });
      std::fclose(f);
      if (!st.ok()) {
        return absl::FailedPreconditionError(
            StrCat("state file ", options_.state_file, ": ", st.message()));
      }
      SP_LOG(kInfo, "snapshots", "restored %zu sites from %s", engines_->site_count(),
             options_.state_file);
    }
  }
  if (checkpointer_ != nullptr && !options_.state_file.empty()) {
    checkpointer_->SetSharedSnapshotBound(engines_->shared().closed_before());
  }
  last_save_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

bool Snapshots::Save() {
  if (options_.state_file.empty() && !state_topic_) return true;
  // What the snapshot calls evaluated must have reached the sinks: a restart does not produce
  // it again. Not yet: the next interval tries again.
  if (checkpointer_ != nullptr && !sinks_->Delivered(/*wait=*/false)) return true;
  if (state_topic_) return checkpointer_->SavePartitionStates();
  return SaveFile();
}

bool Snapshots::SaveFile() {
  const EventTime closed_before = engines_->shared().closed_before();
  const std::string tmp = options_.state_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr;
  if (ok) {
    engines_->shared().SaveState(/*include_open=*/checkpointer_ == nullptr,
                                 [&](const std::string& piece) {
                                   ok = ok && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
                                 });
    ok = std::fclose(f) == 0 && ok;
  }
  ok = ok && std::rename(tmp.c_str(), options_.state_file.c_str()) == 0;
  if (!ok) {
    SP_LOG(kWarning, "snapshots", "cannot write state file %s: %s", options_.state_file,
           strerror(errno));
  } else if (checkpointer_ != nullptr) {
    checkpointer_->SetSharedSnapshotBound(closed_before);
  }
  return ok;
}

bool Snapshots::SaveIfDue() {
  if (options_.state_file.empty() && !state_topic_) return true;
  if (std::chrono::steady_clock::now() - last_save_ <= std::chrono::nanoseconds(options_.state_interval)) {
    return true;
  }
  const bool ok = Save();
  last_save_ = std::chrono::steady_clock::now();
  return ok;
}

}  // namespace sitepulse
