// new_error_template: the first appearance of an error-message template (detect/error_template.h)
// on a site, among its lines at min_level and above. Templates seen in the site's first
// learn_for (from its first such line) are learned silently; at most max_templates are kept per
// site (later new ones are counted, not reported). Each new template is an incident of its own
// that fires at the close of its bucket and resolves keep_firing_for later.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& NewErrorTemplateKind();

}  // namespace sitepulse
