// `sitepulse timeline`: the draft of a blameless postmortem for one incident (or every incident
// of a site in a time range), in the shape of the Google SRE book's example postmortem: summary,
// impact, detection, resolution, action items left blank for people, and a timeline in UTC
// where every line cites its source (an event id, a ledger step). Actors are systems and rules,
// never people. Built from the anomaly events, the heal ledger and optionally the stats.
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

int TimelineMain(const std::vector<std::string>& args);

}  // namespace sitepulse
