package vendorsim

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
)

// webhookReplayWindow is how far a signed timestamp may be from now, either way: a
// captured request cannot be replayed later, and modest clock skew still passes.
const webhookReplayWindow = 5 * time.Minute

// webhook receives a signed JSON POST the way a Customer's or partner's endpoint verifies
// ours (docs/webhooks.md): webhooksig.Verify with the public keys it was given.
func (s *Simulator) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // already buffered in memory by serveVendor
	if err := webhooksig.Verify(s.keys, r.Header, body, s.now(), webhookReplayWindow); err != nil {
		// Verify's errors name the check that failed and nothing that was sent.
		plainError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if !json.Valid(body) {
		plainError(w, http.StatusBadRequest, "body is not valid JSON")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
