package vendorsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	sendgridMaxSearch = 100
	sendgridRateLimit = 600 // per minute, shown in X-RateLimit-Limit; SendGrid publishes none
)

// sendgridState is what SendGrid remembers (docs/vendors/sendgrid.md). Every address is a known
// Marketing contact until its contact is deleted.
type sendgridState struct {
	suppressed map[string]bool // global suppressions, by lower-cased email
	deleted    map[string]bool // deleted contact ids
	jobs       int             // deletion jobs so far, to mint distinct job ids
}

func newSendgridState() sendgridState {
	return sendgridState{suppressed: map[string]bool{}, deleted: map[string]bool{}}
}

// sendgridError writes SendGrid's {"errors":[{"field","message"}]} shape.
func sendgridError(w http.ResponseWriter, status int, msg string) {
	sendgridFieldError(w, status, "", msg)
}

func sendgridFieldError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"field": nullIfEmpty(field), "message": msg}}})
}

// sendgridHeaders sets the rate-limit headers SendGrid sends on every response.
func (s *Simulator) sendgridHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(sendgridRateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(sendgridRateLimit-1))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Truncate(time.Minute).Add(time.Minute).Unix(), 10))
}

// sendgridThrottle is SendGrid's over-limit reply: the reset time says when to retry;
// Retry-After is not documented, so it is sent only when the fault sets one.
func (s *Simulator) sendgridThrottle(w http.ResponseWriter, retryAfterS int) {
	h := w.Header()
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Duration(max(retryAfterS, 1))*time.Second).Unix(), 10))
	retryAfter(h, retryAfterS)
	sendgridError(w, http.StatusTooManyRequests, "too many requests")
}

func sendgridAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if authToken(r, "Bearer") == "" {
		sendgridError(w, http.StatusUnauthorized, "authorization required")
		return false
	}
	return true
}

// sendgridContactID is the contact id SendGrid would hold for an address.
func sendgridContactID(email string) string { return stableUUID("sendgrid", normEmail(email)) }

// sendgridSuppress adds addresses to the global suppression group: 201 echoing them.
// Re-adding one is harmless, as the group is a set.
func (s *Simulator) sendgridSuppress(w http.ResponseWriter, r *http.Request) {
	if !sendgridAuthorized(w, r) {
		return
	}
	var req struct {
		RecipientEmails []string `json:"recipient_emails"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		sendgridError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(req.RecipientEmails) == 0 {
		sendgridFieldError(w, http.StatusBadRequest, "recipient_emails", "at least one email is required")
		return
	}
	for _, e := range req.RecipientEmails {
		if item := rejected(r); item != "" && normEmail(e) == normEmail(item) {
			// SendGrid's error names the field, not which address in it.
			sendgridFieldError(w, http.StatusBadRequest, "recipient_emails", "an address cannot be suppressed")
			return
		}
		if !looksLikeEmail(e) {
			sendgridFieldError(w, http.StatusBadRequest, "recipient_emails", "invalid email address")
			return
		}
	}
	s.mu.Lock()
	for _, e := range req.RecipientEmails {
		s.state.sendgrid.suppressed[normEmail(e)] = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string][]string{"recipient_emails": req.RecipientEmails})
}

// sendgridSuppression answers 200 either way, as SendGrid documents: the address when
// suppressed, {} when not. A 404 here would wrongly look like a routing error.
func (s *Simulator) sendgridSuppression(w http.ResponseWriter, r *http.Request) {
	if !sendgridAuthorized(w, r) {
		return
	}
	email := r.PathValue("email")
	s.mu.Lock()
	suppressed := s.state.sendgrid.suppressed[normEmail(email)]
	s.mu.Unlock()
	if !suppressed {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"recipient_email": email})
}

// sendgridSearch looks contacts up by email: 200 when any match, 404 when none.
func (s *Simulator) sendgridSearch(w http.ResponseWriter, r *http.Request) {
	if !sendgridAuthorized(w, r) {
		return
	}
	var req struct {
		Emails []string `json:"emails"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		sendgridError(w, http.StatusBadRequest, err.Error())
		return
	}
	if n := len(req.Emails); n == 0 || n > sendgridMaxSearch {
		sendgridFieldError(w, http.StatusBadRequest, "emails", "emails must list 1 to 100 addresses")
		return
	}
	result := map[string]any{}
	found := 0
	s.mu.Lock()
	for _, e := range req.Emails {
		id := sendgridContactID(e)
		if !looksLikeEmail(e) || s.state.sendgrid.deleted[id] {
			result[e] = map[string]string{"error": "contact not found"}
			continue
		}
		found++
		result[e] = map[string]any{"contact": map[string]string{"id": id, "email": normEmail(e)}}
	}
	s.mu.Unlock()
	if found == 0 {
		sendgridError(w, http.StatusNotFound, "no contacts found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

// sendgridDeleteContacts queues a deletion: 202 with a job id. Deleted contacts stop
// matching the search at once, though SendGrid processes the job asynchronously.
func (s *Simulator) sendgridDeleteContacts(w http.ResponseWriter, r *http.Request) {
	if !sendgridAuthorized(w, r) {
		return
	}
	raw := r.URL.Query().Get("ids")
	if raw == "" {
		// delete_all_contacts is left out on purpose: no privacy flow should use it.
		sendgridFieldError(w, http.StatusBadRequest, "ids", "ids is required")
		return
	}
	ids := strings.Split(raw, ",")
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			sendgridFieldError(w, http.StatusBadRequest, "ids", "ids must not hold an empty id")
			return
		}
	}
	s.mu.Lock()
	for _, id := range ids {
		s.state.sendgrid.deleted[strings.TrimSpace(id)] = true
	}
	s.state.sendgrid.jobs++
	job := stableUUID("sendgrid-job", strconv.Itoa(s.state.sendgrid.jobs))
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": job})
}
