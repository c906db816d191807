#include "app/coordinator.h"

#include "core/check.h"
#include "core/log.h"

namespace sitepulse {

Coordinator::Coordinator(const Parts& parts, const ParseLane::Options& lane_options,
                         const TimeGateOptions& gate_options, int gate_lane_id)
    : p_(parts),
      options_(*parts.options),
      kafka_(parts.inputs->kafka()),
      gate_options_(gate_options),
      gate_lane_(gate_lane_id, parts.inputs->formats(), lane_options),
      lines_before_(parts.inputs->formats().size(), 0) {
  warning_context_.needs_latency = options_.needs_latency;
  warning_context_.error_log_detectors = options_.error_log_detectors;
  warning_context_.max_sites = options_.engine.max_sites;
  for (size_t i = 0; i < options_.inputs.size(); ++i) {
    if (p_.inputs->formats()[i].kind == RecordKind::kError) warning_context_.has_error_input = true;
    // An input whose site comes from the config, not the URI: a placeholder.
    if (!p_.inputs->formats()[i].default_site.empty() &&
        options_.inputs[i].uri.Param("site") == nullptr) {
      warning_context_.placeholder = p_.inputs->formats()[i].default_site;
    }
  }
}

void Coordinator::Run(ParseStage& stage) {
  // Batches finish out of order; they are applied strictly in sequence order.
  std::map<uint64_t, Batch*> pending;
  uint64_t next_seq = 0;
  int lanes_done = 0;
  while (lanes_done < stage.lanes() || !pending.empty()) {
    if (lanes_done < stage.lanes()) {
      Batch* b = stage.Done();
      if (b == nullptr) {
        ++lanes_done;
        continue;
      }
      SP_DCHECK(b->seq >= next_seq && !pending.contains(b->seq),
                "a batch sequence number is applied once");
      pending.emplace(b->seq, b);
    }
    while (!pending.empty() && pending.begin()->first == next_seq) {
      Batch* b = pending.begin()->second;
      pending.erase(pending.begin());
      ++next_seq;
      TakeReload();
      if (b->control != Batch::Control::kNone) {
        ApplyControl(b);
      } else {
        ApplyData(b, stage, !pending.empty());
      }
      stage.Recycle(b);
    }
  }
}

// A configuration reload accepted since the last batch: every line from here on is judged by
// the new detectors.
void Coordinator::TakeReload() {
  if (options_.reloads == nullptr) return;
  std::vector<DetectorSpec> detectors;
  absl::flat_hash_map<std::string, std::vector<DetectorSpec>> site_detectors;
  if (!options_.reloads->Take(&detectors, &site_detectors)) return;
  p_.engines->Reconfigure(detectors, site_detectors);
}

// Kafka assignment changes. A partition's watermark counts from its assignment.
void Coordinator::ApplyControl(Batch* b) {
  const int pid = b->partition;
  switch (b->control) {
    case Batch::Control::kTick:  // idle input: commits still happen
      break;
    case Batch::Control::kEof:
      p_.checkpointer->OnEof(pid);
      break;
    case Batch::Control::kAssign:
      p_.snapshots->OnAssigned(p_.inputs->kafka()->owns_every_partition());
      p_.checkpointer->OnAssigned(*b);
      if (p_.partials != nullptr) p_.partials->OnAssigned(p_.engines, *b);
      if (p_.stage2) {
        // Stage 2: the watermarks in the partition's records hold its engine's closes, not the
        // partition itself.
        // With a state topic the engine is the previous owner's: its stage-1 watermarks go on
        // from there, and records of buckets it closed, read again, are skipped.
        p_.engines->End(pid);
        WindowEngine& engine = p_.engines->mutable_engine(pid);
        auto& m = mergers_[pid];
        m = std::make_unique<PartialMerger>(&engine);
        m->Adopt();
        m->AddSource(0);
        engine.SkipPublishedBefore(engine.closed_before());
      }
      break;
    case Batch::Control::kEnd:
      if (p_.engines->IsOpen(pid)) {
        SettleGate(b);
        p_.engines->End(pid);
        if (p_.partials != nullptr) p_.partials->OnEnded(pid);
      }
      gates_.erase(pid);
      break;
    default:
      if (!p_.engines->IsOpen(pid)) break;
      // Revoked (handed over) or lost: this consumer no longer owns the partition's sites.
      // Handed over, its held lines are decided first (the state carries no held lines); lost,
      // they are read again by the next owner (their offsets were not committed).
      // With a snapshot to roll back to (shared engine), the partition is not ended: ending it
      // would close buckets that its lines read again still belong to.
      const bool rolls_back = p_.snapshots->OnPartitionGone();
      if (b->control == Batch::Control::kRevoke) {
        SettleGate(b);
        p_.checkpointer->OnRevoked(pid, /*keep_engine=*/rolls_back);
        if (p_.partials != nullptr) p_.partials->OnGone(pid);
      } else {
        if (p_.partials != nullptr) p_.partials->OnLost(pid);
        p_.checkpointer->OnLost(pid, /*keep_engine=*/rolls_back);
      }
      mergers_.erase(pid);
      gates_.erase(pid);
      break;
  }
  if (b->control == Batch::Control::kRevoke) kafka_->RevokeHandled();
  if (kafka_ != nullptr) p_.checkpointer->Tick();
  if (p_.partials != nullptr) p_.partials->Publish(*p_.engines, SteadyNowNs());
}

void Coordinator::ApplyData(Batch* b, const ParseStage& stage, bool backlog) {
  PipelineStats& stats = *p_.stats;
  EngineSet& engines = *p_.engines;
  const size_t in = static_cast<size_t>(b->input);
  if (kafka_ != nullptr && !engines.IsOpen(b->partition)) engines.Open(b->partition);
  JudgeEventTime(b, kafka_ ? b->partition : b->input, kafka_ ? 0 : lines_before_[in]);
  const uint64_t oversized = b->oversized.size();
  stats.lines->Add(b->lines + oversized);
  stats.parsed->Add(b->parsed);
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (b->rejected_by_reason[r] > 0) stats.rejected[r]->Add(b->rejected_by_reason[r]);
  }
  if (oversized > 0) stats.rejected[static_cast<int>(RejectReason::kLineTooLong)]->Add(oversized);
  uint64_t bytes = b->size;
  for (const MessageView& m : b->messages) bytes += m.size;
  for (const OversizedLine& o : b->oversized) bytes += o.length;
  stats.bytes->Add(bytes);
  if (p_.sinks->dlq) {
    WriteDeadLetters(*b, kafka_ ? kafka_->PartitionName(b->partition) : p_.inputs->file(in).name(), in);
  }
  lines_before_[in] += b->lines + b->oversized.size();
  seen_.access += b->access_lines;
  seen_.latency += b->latency_lines;
  seen_.default_site += b->default_site_lines;
  if (b->bad_bytes_fields > 0) stats.bad_bytes->Add(b->bad_bytes_fields);

  const uint64_t late_before = engines.late_events();
  if (p_.stage2) {
    ApplyPartials(b);
    p_.checkpointer->OnApplied(*b);
  } else if (kafka_ != nullptr) {
    if (p_.partials != nullptr) p_.partials->OnData(*b);
    engines.Apply(b->partition, b->lane, b->new_sites, b->delta, b->overflow_names);
    if (p_.partials != nullptr) p_.partials->Publish(engines, SteadyNowNs());
    p_.checkpointer->OnApplied(*b, b->delta.carries_events());
  } else {
    engines.Apply(b->input, b->lane, b->new_sites, b->delta, b->overflow_names);
    p_.inputs->NoteProgress(b->input, b->delta.max_time);
    if (b->end_of_input) {
      FileSource& source = p_.inputs->file(in);
      if (!source.error().empty()) {
        stats.input_errors->Add();
        SP_LOG(kError, "inputs", "%s", source.error());
      }
      if (!source.warning().empty()) warnings_.Raise("file_truncated", source.warning());
      // With a state file the end of the input is a pause: open buckets wait in the snapshot,
      // and the input, read to its end, is idle: it stops holding the others back (a file of
      // another format, all rejected, held every bucket of every input open for the whole run).
      if (options_.state_file.empty()) {
        engines.End(b->input);
      } else {
        engines.SetIdle(b->input, true);
      }
    }
  }
  if (!p_.snapshots->SaveIfDue()) stats.input_errors->Add();
  stats.late->Add(engines.late_events() - late_before);
  stats.batches->Add();
  CheckWarnings(false);
  PublishProgress(stage, backlog);
}

void Coordinator::ApplyPartials(Batch* b) {
  PipelineStats& stats = *p_.stats;
  EventTime newest = INT64_MIN;
  uint64_t bad = 0;
  const std::string source = kafka_->PartitionName(b->partition);
  for (const MessageView& m : b->messages) {
    const std::string_view record(m.data, m.size);
    EventTime start = INT64_MIN;
    // Every partials partition carries every watermark: partition 0's copy counts the late lines.
    auto merger = mergers_.find(b->partition);
    const absl::Status st =
        merger == mergers_.end()
            ? absl::FailedPreconditionError("a record of a partition not assigned")
            : merger->second->Apply(0, record, b->partition == 0, &start);
    newest = std::max(newest, start);
    if (st.ok()) continue;
    ++bad;
    if (++bad_partials_logged_ <= 10) {
      SP_LOG(kError, "partials", "%s offset %lld: %s%s", source.c_str(), static_cast<long long>(m.offset),
             std::string(st.message()).c_str(),
             bad_partials_logged_ == 10 ? " (further ones are only counted: bad_partial)" : "");
    }
    if (p_.sinks->dlq) {
      p_.sinks->dlq->Write({RejectReason::kBadPartial, source, 0, static_cast<uint64_t>(m.offset),
                            m.size, record});
      stats.dead_letters->Add();
    }
  }
  stats.lines->Add(b->messages.size());
  stats.parsed->Add(b->messages.size() - bad);
  if (bad > 0) stats.rejected[static_cast<int>(RejectReason::kBadPartial)]->Add(bad);
  b->checkpoints.clear();
  if (!b->messages.empty()) b->checkpoints.emplace_back(b->messages.back().offset + 1, newest);
  size_t waiting = 0;
  for (const auto& [pid, m] : mergers_) waiting += m->waiting();
  if (partials_waiting_ == nullptr) {
    partials_waiting_ = options_.metrics->GetGauge(
        "sitepulse_partials_waiting",
        "Stage 2: stage-1 partitions (or partials partitions) not heard from yet; while above 0, "
        "no bucket of the partitions they hold closes");
  }
  partials_waiting_->Set(static_cast<double>(waiting));
}

void Coordinator::WriteDeadLetters(const Batch& b, const std::string& source, size_t in) {
  DeadLetterSink& dlq = *p_.sinks->dlq;
  for (const RejectedLine& r : b.rejects) {
    if (r.message != UINT32_MAX) {
      const MessageView& m = b.messages[r.message];
      dlq.Write({r.reason, source, 0, static_cast<uint64_t>(m.offset), r.length,
                 std::string_view(m.data + r.offset, r.length)});
      continue;
    }
    dlq.Write({r.reason, source, lines_before_[in] + r.line_index + 1, b.input_offset + r.offset,
               r.length, std::string_view(b.data.data() + r.offset, r.length)});
  }
  const uint64_t oversized = b.oversized.size();
  for (size_t k = 0; k < oversized; ++k) {
    const OversizedLine& o = b.oversized[k];
    dlq.Write({RejectReason::kLineTooLong, source, lines_before_[in] + b.lines + k + 1, o.offset,
               o.length, o.head});
  }
  for (const OwnedReject& r : b.owned_rejects) {
    dlq.Write({r.reason, source, r.line, r.offset, r.bytes.size(), r.bytes});
  }
  p_.stats->dead_letters->Add(b.rejects.size() + oversized + b.owned_rejects.size());
}

void Coordinator::PublishProgress(const ParseStage& stage, bool backlog) {
  PipelineStats& stats = *p_.stats;
  const EngineSet& engines = *p_.engines;
  stats.sites->Set(static_cast<double>(engines.site_count()));
  if (engines.split_sites() != split_reported_) {
    if (split_reported_ == 0) {
      SP_LOG(kWarning, "kafka",
             "a site's lines arrive on two partitions: with a state topic the input must be "
             "keyed by site (sitepulse_sites_split_across_partitions)");
    }
    split_reported_ = engines.split_sites();
    stats.split->Set(static_cast<double>(split_reported_));
  }
  stats.over_cap->Set(static_cast<double>(engines.sites_over_cap()));
  stats.promoted->Set(static_cast<double>(engines.sites_promoted()));
  stats.warming->Set(static_cast<double>(engines.baselines_warming()));
  stats.templates->Set(static_cast<double>(engines.error_templates()));
  stats.templates_over_cap->Set(static_cast<double>(engines.error_templates_over_cap()));
  if (const EventTime w = engines.watermark(); w > INT64_MIN && w < INT64_MAX) {
    stats.watermark->Set(static_cast<double>(w) / 1e9);
  }
  stats.work_depth->Set(static_cast<double>(stage.parse_depth()));
  stats.done_depth->Set(static_cast<double>(stage.apply_depth()));
  PipelineHealth& health = *p_.health;
  health.last_progress_ns.store(SteadyNowNs(), std::memory_order_relaxed);
  health.backlog.store(stage.apply_depth() > 0 || backlog, std::memory_order_relaxed);
  health.sinks_healthy.store(p_.sinks->fanout.SinksHealthy(), std::memory_order_relaxed);
}

TimeGate& Coordinator::GateOf(int id) {
  auto [it, inserted] = gates_.try_emplace(id, gate_options_);
  if (inserted) it->second.Advance(p_.engines->max_time(id));  // restored from a snapshot
  return it->second;
}

void Coordinator::JudgeEventTime(Batch* b, int id, uint64_t line_base) {
  TimeGate& gate = GateOf(id);
  // Steady means the gate knows the input's time (max_time() is set).
  const bool jumps = b->needs_gate ||
                     (b->first_time != INT64_MIN && gate.steady() &&
                      b->first_time > gate.max_time() &&
                      b->first_time - gate.max_time() > options_.max_jump);
  if (gate.steady() && !jumps) {
    gate.Advance(b->delta.max_time);
    return;
  }
  p_.engines->RegisterSites(id, b->lane, b->new_sites);  // the lane keeps the ids it gave them
  b->ResetForLane();
  gate_lane_.Process(b, &gate, line_base);
}

// A Kafka partition ends or is handed over: lines its gate still holds are decided now, in the
// control batch (which has no data of its own).
void Coordinator::SettleGate(Batch* b) {
  auto g = gates_.find(b->partition);
  if (g == gates_.end() || g->second.steady()) return;
  b->end_of_input = true;
  gate_lane_.Process(b, &g->second, 0);
  p_.engines->Apply(b->partition, b->lane, b->new_sites, b->delta, b->overflow_names);
  p_.stats->parsed->Add(b->parsed);
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (b->rejected_by_reason[r] > 0) p_.stats->rejected[r]->Add(b->rejected_by_reason[r]);
  }
  if (p_.sinks->dlq) {
    for (const OwnedReject& r : b->owned_rejects) {
      p_.sinks->dlq->Write({r.reason, kafka_->PartitionName(b->partition), r.line, r.offset,
                            r.bytes.size(), r.bytes});
    }
    p_.stats->dead_letters->Add(b->owned_rejects.size());
  }
}

void Coordinator::CheckWarnings(bool final_check) {
  PipelineStats& stats = *p_.stats;
  RunCounts c = seen_;
  c.lines = stats.lines->value();
  for (int r = 0; r < kNumRejectReasons; ++r) c.rejected_by_reason[r] = stats.rejected[r]->value();
  c.parsed = stats.parsed->value();
  c.late = stats.late->value();
  c.sites = p_.engines->site_count();
  c.sites_over_cap = p_.engines->sites_over_cap();
  CheckRunWarnings(c, warning_context_, final_check, &warnings_);
  stats.warnings->Set(static_cast<double>(warnings_.list().size()));
}

void Coordinator::Finish(RunSummary* summary) {
  for (const auto& [id, gate] : gates_) summary->held += gate.held();
  CheckWarnings(true);
  summary->warnings = warnings_.list();
}

}  // namespace sitepulse
