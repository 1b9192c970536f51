package vendorsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// webhookReplayWindow is how far a signed timestamp may be from now, either way: a
// captured request cannot be replayed later, and modest clock skew still passes.
const webhookReplayWindow = 5 * time.Minute

// webhook receives a signed JSON POST the way a partner endpoint verifies ours:
// X-Consentry-Signature is v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>.
func (s *Simulator) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // already buffered in memory by serveVendor
	if msg := s.webhookAuthProblem(r.Header, body); msg != "" {
		plainError(w, http.StatusUnauthorized, msg)
		return
	}
	if !json.Valid(body) {
		plainError(w, http.StatusBadRequest, "body is not valid JSON")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// webhookAuthProblem explains why the signature does not verify, or returns "".
func (s *Simulator) webhookAuthProblem(h http.Header, body []byte) string {
	keyID, ts, sig := h.Get("X-Consentry-Key-Id"), h.Get("X-Consentry-Timestamp"), h.Get("X-Consentry-Signature")
	if keyID == "" || ts == "" || sig == "" {
		return "X-Consentry-Key-Id, X-Consentry-Timestamp and X-Consentry-Signature are required"
	}
	secret, ok := s.secrets[keyID]
	if !ok {
		return "unknown key id"
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "X-Consentry-Timestamp must be unix seconds"
	}
	if skew := s.now().Sub(time.Unix(unix, 0)); skew > webhookReplayWindow || skew < -webhookReplayWindow {
		return "timestamp outside the replay window"
	}
	hexSig, ok := strings.CutPrefix(sig, "v1=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return "X-Consentry-Signature must be v1=<hex>"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "signature does not match"
	}
	return ""
}
