package vendorsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hubspotState is what HubSpot remembers (docs/vendors/hubspot.md).
type hubspotState struct {
	// deletedIDs holds record IDs already GDPR-deleted. Deletes by email need no
	// state: HubSpot blocklists an unknown address, so a repeat is always 204.
	deletedIDs map[string]bool
	// optedOut holds when each address opted out of all email (v4), keyed lower-case.
	optedOut map[string]time.Time
	// unsubscribed holds v3 per-type unsubscribes, keyed email + "\x00" + type id.
	unsubscribed map[string]bool
	// contacts maps record IDs to addresses (AddHubSpotContact), for the contact read.
	contacts map[string]string
	// day and used count the account's calls today (UTC), for the daily limit.
	day  string
	used int
}

func newHubspotState() hubspotState {
	return hubspotState{deletedIDs: map[string]bool{}, optedOut: map[string]time.Time{}, unsubscribed: map[string]bool{},
		contacts: map[string]string{}}
}

// hubspotError writes HubSpot's error envelope. HubSpot's 429 has its own
// shape; see hubspotThrottle.
func hubspotError(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusTooManyRequests {
		hubspotThrottle(w, 0)
		return
	}
	body := map[string]string{"status": "error", "message": msg, "correlationId": stableUUID("hubspot", msg)}
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		body["category"] = "VALIDATION_ERROR"
	case http.StatusUnauthorized:
		body["category"] = "INVALID_AUTHENTICATION"
	case http.StatusNotFound:
		body["category"] = "OBJECT_NOT_FOUND"
	}
	writeJSON(w, status, body)
}

// hubspotThrottle is the burst-limit reply. HubSpot does not document
// Retry-After, so it is only sent when the fault asks for it.
func hubspotThrottle(w http.ResponseWriter, retryAfterS int) {
	retryAfter(w.Header(), retryAfterS)
	w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
	writeJSON(w, http.StatusTooManyRequests, map[string]string{
		"status":        "error",
		"message":       "You have reached your ten_secondly_rolling limit.",
		"errorType":     "RATE_LIMIT",
		"correlationId": stableUUID("hubspot", "rate-limit"),
		"policyName":    "TEN_SECONDLY_ROLLING",
		"requestId":     stableUUID("hubspot", "rate-limit", "request"),
	})
}

// hubspotHeaders counts the call against the day and sends HubSpot's documented
// rate-limit headers (docs/vendors/hubspot.md): the rolling ten-second window and, as for
// private-app tokens, the daily allocation.
func (s *Simulator) hubspotHeaders(w http.ResponseWriter) {
	day := s.now().UTC().Format(time.DateOnly)
	s.mu.Lock()
	st := &s.state.hubspot
	if st.day != day {
		st.day, st.used = day, 0
	}
	st.used++
	remaining := max(s.hsLimit-st.used, 0)
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	h.Set("X-HubSpot-RateLimit-Max", "100")
	h.Set("X-HubSpot-RateLimit-Remaining", "99")
	h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.hsLimit))
	h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(remaining))
}

// hubspotSpent refuses calls past the daily limit with HubSpot's documented 429: no
// Retry-After, policyName DAILY; it resets at the account's midnight.
func (s *Simulator) hubspotSpent(w http.ResponseWriter) bool {
	s.mu.Lock()
	over := s.state.hubspot.used > s.hsLimit
	s.mu.Unlock()
	if over {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"status":        "error",
			"message":       "You have reached your daily limit.",
			"errorType":     "RATE_LIMIT",
			"correlationId": stableUUID("hubspot", "daily-limit"),
			"policyName":    "DAILY",
			"requestId":     stableUUID("hubspot", "daily-limit", "request"),
		})
	}
	return over
}

func hubspotAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if authToken(r, "Bearer") == "" {
		hubspotError(w, http.StatusUnauthorized, "Authentication credentials not found. This API supports OAuth 2.0 and private app access tokens.")
		return false
	}
	return true
}

// hubspotGDPRDelete answers 204 with no body; by record ID a repeat is 404.
func (s *Simulator) hubspotGDPRDelete(w http.ResponseWriter, r *http.Request) {
	if !hubspotAuthorized(w, r) {
		return
	}
	var req struct {
		ObjectID   string `json:"objectId"`
		IDProperty string `json:"idProperty"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		hubspotError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.ObjectID == "" {
		hubspotError(w, http.StatusBadRequest, "objectId is required")
		return
	}
	if req.IDProperty == "email" && !looksLikeEmail(req.ObjectID) {
		hubspotError(w, http.StatusBadRequest, "objectId is not a valid email address")
		return
	}
	s.mu.Lock()
	s.state.hubspot.forgetContacts(req.ObjectID, req.IDProperty)
	s.mu.Unlock()
	if req.IDProperty == "" {
		s.mu.Lock()
		gone := s.state.hubspot.deletedIDs[req.ObjectID]
		s.state.hubspot.deletedIDs[req.ObjectID] = true
		s.mu.Unlock()
		if gone {
			hubspotError(w, http.StatusNotFound, "resource not found")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// hubspotWideStatus is one "opted out of all email" entry of a v4 response.
type hubspotWideStatus struct {
	SubscriberIDString     string `json:"subscriberIdString"`
	WideStatusType         string `json:"wideStatusType"`
	Status                 string `json:"status"`
	Channel                string `json:"channel"`
	BusinessUnitID         int    `json:"businessUnitId"`
	Timestamp              string `json:"timestamp"`
	SetStatusSuccessReason string `json:"setStatusSuccessReason,omitempty"`
}

// hubspotV4Envelope is the v4 batch-style response envelope.
type hubspotV4Envelope struct {
	Status      string              `json:"status"`
	Results     []hubspotWideStatus `json:"results"`
	Errors      []any               `json:"errors"`
	StartedAt   string              `json:"startedAt"`
	CompletedAt string              `json:"completedAt"`
}

// hubspotV4Checks applies what both v4 unsubscribe-all methods require.
func hubspotV4Checks(w http.ResponseWriter, r *http.Request) (email string, ok bool) {
	if !hubspotAuthorized(w, r) {
		return "", false
	}
	email = r.PathValue("email")
	if !looksLikeEmail(email) {
		hubspotError(w, http.StatusBadRequest, "subscriberIdString must be an email address")
		return "", false
	}
	// EMAIL is the only channel, yet leaving it out is a 400.
	if r.URL.Query().Get("channel") != "EMAIL" {
		hubspotError(w, http.StatusBadRequest, "channel is required and must be EMAIL")
		return "", false
	}
	return email, true
}

// hubspotUnsubscribeAll opts an address out of all email. A repeat succeeds with
// NO_STATUS_CHANGE, the reply adapters must treat as already done.
func (s *Simulator) hubspotUnsubscribeAll(w http.ResponseWriter, r *http.Request) {
	email, ok := hubspotV4Checks(w, r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	at, already := s.state.hubspot.optedOut[normEmail(email)]
	if !already {
		at = now
		s.state.hubspot.optedOut[normEmail(email)] = now
	}
	s.mu.Unlock()
	if !strings.EqualFold(r.URL.Query().Get("verbose"), "true") {
		w.WriteHeader(http.StatusOK) // empty body without verbose=true
		return
	}
	result := hubspotOptedOut(email, at)
	result.SetStatusSuccessReason = "UNSUBSCRIBE_FROM_ALL_OCCURRED"
	if already {
		result.SetStatusSuccessReason = "NO_STATUS_CHANGE"
	}
	writeJSON(w, http.StatusOK, hubspotV4Envelope{
		Status: "COMPLETE", Results: []hubspotWideStatus{result}, Errors: []any{},
		StartedAt: stamp(now), CompletedAt: stamp(now),
	})
}

// hubspotUnsubscribeAllStatus reads the opt-out; results is empty when there is none.
func (s *Simulator) hubspotUnsubscribeAllStatus(w http.ResponseWriter, r *http.Request) {
	email, ok := hubspotV4Checks(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	at, optedOut := s.state.hubspot.optedOut[normEmail(email)]
	s.mu.Unlock()
	results := []hubspotWideStatus{}
	if optedOut {
		results = append(results, hubspotOptedOut(email, at))
	}
	now := stamp(s.now())
	writeJSON(w, http.StatusOK, hubspotV4Envelope{
		Status: "COMPLETE", Results: results, Errors: []any{}, StartedAt: now, CompletedAt: now,
	})
}

func hubspotOptedOut(email string, at time.Time) hubspotWideStatus {
	return hubspotWideStatus{
		SubscriberIDString: email, WideStatusType: "PORTAL_WIDE", Status: "UNSUBSCRIBED",
		Channel: "EMAIL", Timestamp: stamp(at),
	}
}

// hubspotUnsubscribeV3 is the v3 per-type unsubscribe: one subscription type; a repeat is an error whose
// message adapters match to treat it as success.
func (s *Simulator) hubspotUnsubscribeV3(w http.ResponseWriter, r *http.Request) {
	if !hubspotAuthorized(w, r) {
		return
	}
	var req struct {
		EmailAddress          string          `json:"emailAddress"`
		SubscriptionID        json.RawMessage `json:"subscriptionId"`
		LegalBasis            string          `json:"legalBasis"`
		LegalBasisExplanation string          `json:"legalBasisExplanation"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		hubspotError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !looksLikeEmail(req.EmailAddress) {
		hubspotError(w, http.StatusBadRequest, "emailAddress is required and must be an email address")
		return
	}
	subID, ok := hubspotSubscriptionID(req.SubscriptionID)
	if !ok {
		hubspotError(w, http.StatusBadRequest, "subscriptionId is required")
		return
	}
	switch req.LegalBasis {
	case "", "LEGITIMATE_INTEREST_PQL", "LEGITIMATE_INTEREST_CLIENT", "PERFORMANCE_OF_CONTRACT",
		"CONSENT_WITH_NOTICE", "NON_GDPR", "LEGITIMATE_INTEREST_OTHER":
	default:
		hubspotError(w, http.StatusBadRequest, "legalBasis "+strconv.Quote(req.LegalBasis)+" is not a valid legal basis")
		return
	}
	key := normEmail(req.EmailAddress) + "\x00" + subID
	s.mu.Lock()
	already := s.state.hubspot.unsubscribed[key]
	s.state.hubspot.unsubscribed[key] = true
	s.mu.Unlock()
	if already {
		hubspotError(w, http.StatusBadRequest, req.EmailAddress+" is already unsubscribed from subscription "+subID)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                    subID,
		"name":                  "Subscription " + subID,
		"description":           "",
		"status":                "NOT_SUBSCRIBED",
		"sourceOfStatus":        "SUBSCRIPTION_STATUS",
		"legalBasis":            nullIfEmpty(req.LegalBasis),
		"legalBasisExplanation": nullIfEmpty(req.LegalBasisExplanation),
		"brandId":               nil,
		"preferenceGroupName":   nil,
	})
}

// hubspotSubscriptionID accepts the id as a JSON string or number: HubSpot documents a
// string, but type ids are numeric and clients send either.
func hubspotSubscriptionID(raw json.RawMessage) (string, bool) {
	var str string
	if json.Unmarshal(raw, &str) == nil && str != "" {
		return str, true
	}
	var num json.Number
	if json.Unmarshal(raw, &num) == nil && num != "" {
		return num.String(), true
	}
	return "", false
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
