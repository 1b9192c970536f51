package vendorsim

import (
	"net/http"
	"slices"
	"strings"
)

// vendorSpec is what the shared layers (faults, unknown routes) need to answer in a
// vendor's own voice: adapters parse error bodies, so a generic shape would hide bugs.
type vendorSpec struct {
	// fail writes the vendor's error body with a status-derived code.
	fail func(w http.ResponseWriter, status int, msg string)
	// throttle writes the vendor's rate-limit signal.
	throttle func(w http.ResponseWriter, retryAfterS int)
	// headers sets what the vendor sends on every response.
	headers func(w http.ResponseWriter)
	// spent writes the vendor's refusal and reports true when its daily quota is used
	// up (after headers counted this call).
	spent func(w http.ResponseWriter) bool
}

// vendorSpecs lists every vendor prefix the simulator serves.
func (s *Simulator) vendorSpecs() map[string]vendorSpec {
	specs := map[string]vendorSpec{
		"hubspot":    {fail: hubspotError, throttle: hubspotThrottle, headers: s.hubspotHeaders, spent: s.hubspotSpent},
		"amplitude":  {fail: amplitudeError},
		"posthog":    {fail: posthogError},
		"fullstory":  {fail: fullstoryError},
		"salesforce": {fail: salesforceError, throttle: salesforceThrottle, headers: s.salesforceHeaders, spent: s.salesforceSpent},
		"linkedin":   {fail: linkedinError},
		"sendgrid":   {fail: sendgridError, throttle: s.sendgridThrottle, headers: s.sendgridHeaders},
		"webhook":    {fail: plainError},
	}
	for name, spec := range specs {
		specs[name] = spec.withDefaults()
	}
	return specs
}

// spec returns the vendor's spec, or a generic one for an unknown prefix.
func (s *Simulator) spec(vendor string) vendorSpec {
	if spec, ok := s.vendors[vendor]; ok {
		return spec
	}
	return vendorSpec{fail: plainError}.withDefaults()
}

func (v vendorSpec) withDefaults() vendorSpec {
	if v.throttle == nil {
		fail := v.fail
		v.throttle = func(w http.ResponseWriter, retryAfterS int) {
			retryAfter(w.Header(), retryAfterS)
			fail(w, http.StatusTooManyRequests, "too many requests")
		}
	}
	if v.headers == nil {
		v.headers = func(http.ResponseWriter) {}
	}
	if v.spent == nil {
		v.spent = func(http.ResponseWriter) bool { return false }
	}
	return v
}

func (s *Simulator) vendorNames() string {
	names := make([]string, 0, len(s.vendors))
	for name := range s.vendors {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
