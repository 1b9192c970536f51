package vendorsim

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	dayLayout = "2006-01-02"
	// amplitudeLeadDays is how far out a new batch is scheduled; Amplitude says
	// 10–13 days after the first request in the batch (docs/vendors/amplitude.md).
	amplitudeLeadDays = 10
	// amplitudeMaxIDs and the one request a second of amplitudeAdmit are the endpoint's
	// documented limits (docs/vendors/amplitude.md, "Documented contract").
	amplitudeMaxIDs = 100
	// amplitudeSpacing is the least time between two admitted requests of a project.
	// Amplitude documents "1 HTTP request per second" without saying how it measures it;
	// 0.9 s lets a client that keeps to 1/s through transit jitter pass, and stops one
	// that does not.
	amplitudeSpacing = 900 * time.Millisecond
)

// amplitudeState holds deletion jobs. There is no job ID: a job is a project
// plus its scheduled day, and requests join the project's batch while it is staging.
type amplitudeState struct {
	jobs []*amplitudeJob
	// admitted is when each project's last request within the rate limit arrived.
	admitted map[int]time.Time
}

type amplitudeJob struct {
	app     int
	day     string
	created time.Time
	entries []amplitudeEntry
}

type amplitudeEntry struct {
	AmplitudeID    int64  `json:"amplitude_id"`
	Requester      string `json:"requester"`
	RequestedOnDay string `json:"requested_on_day"`
}

// amplitudeJobJSON is the deletion-job object both endpoints return.
type amplitudeJobJSON struct {
	Day          string           `json:"day"`
	Status       string           `json:"status"`
	AmplitudeIDs []amplitudeEntry `json:"amplitude_ids"`
	App          int              `json:"app"`
}

// status compresses Amplitude's days-long staging → submitted → done into delay, so
// tests can watch a job finish by advancing a clock.
func (j *amplitudeJob) status(now time.Time, delay time.Duration) string {
	switch age := now.Sub(j.created); {
	case age < delay/2:
		return "staging"
	case age < delay:
		return "submitted"
	}
	return "done"
}

func (j *amplitudeJob) view(now time.Time, delay time.Duration) amplitudeJobJSON {
	return amplitudeJobJSON{Day: j.day, Status: j.status(now, delay), AmplitudeIDs: slices.Clone(j.entries), App: j.app}
}

// amplitudeError is the {"code","error"} shape Amplitude's HTTP APIs use; the
// privacy API's own error body is not documented.
func amplitudeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "error": msg})
}

// amplitudeApp returns the project id for the request's key pair, or writes a 401.
// Projects are told apart by api key so two adapters' jobs do not mix. It then applies
// the endpoint's limit of one request a second, which POST and GET share (the limit is
// the path's), answering 429 beyond it. Amplitude documents neither the 429 nor a
// Retry-After for this endpoint, so none is sent.
func (s *Simulator) amplitudeApp(w http.ResponseWriter, r *http.Request) (int, bool) {
	key, secret, ok := r.BasicAuth()
	if !ok || key == "" || secret == "" {
		amplitudeError(w, http.StatusUnauthorized, "Invalid API key or secret key")
		return 0, false
	}
	app := 100000 + int(stableUint(key)%900000)
	if s.noRateLimits {
		return app, true
	}
	now := s.now()
	s.mu.Lock()
	last, seen := s.state.amplitude.admitted[app]
	admit := !seen || now.Sub(last) >= amplitudeSpacing
	if admit {
		if s.state.amplitude.admitted == nil {
			s.state.amplitude.admitted = map[int]time.Time{}
		}
		s.state.amplitude.admitted[app] = now
	}
	s.mu.Unlock()
	if !admit {
		amplitudeError(w, http.StatusTooManyRequests, "Too many requests: the limit is 1 request per second")
		return 0, false
	}
	return app, true
}

// amplitudeIDFor derives the amplitude_id Amplitude would have assigned a user_id.
// It stays below 2^53 so JSON clients that read numbers as floats keep it exact.
func amplitudeIDFor(userID string) int64 {
	return int64(stableUint("amplitude", userID)&(1<<53-1)) | 1
}

func stableUint(parts ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(h[:8])
}

func (s *Simulator) amplitudeCreate(w http.ResponseWriter, r *http.Request) {
	app, ok := s.amplitudeApp(w, r)
	if !ok {
		return
	}
	var req struct {
		AmplitudeIDs    []int64  `json:"amplitude_ids"`
		UserIDs         []string `json:"user_ids"`
		Requester       string   `json:"requester"`
		IgnoreInvalidID bool     `json:"ignore_invalid_id"`
		DeleteFromOrg   bool     `json:"delete_from_org"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		amplitudeError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch n := len(req.AmplitudeIDs) + len(req.UserIDs); {
	case n == 0:
		amplitudeError(w, http.StatusBadRequest, "amplitude_ids or user_ids must list at least one id")
		return
	case n > amplitudeMaxIDs:
		amplitudeError(w, http.StatusBadRequest, "at most 100 ids per request")
		return
	}
	// delete_from_org forces ignoring invalid ids.
	ignoreInvalid := req.IgnoreInvalidID || req.DeleteFromOrg
	var ids []int64
	invalid := []any{} // [] rather than null, as a list Amplitude always sends
	for _, id := range req.AmplitudeIDs {
		if id <= 0 {
			if ignoreInvalid {
				continue
			}
			amplitudeError(w, http.StatusBadRequest, "amplitude_ids holds an invalid id")
			return
		}
		ids = append(ids, id)
	}
	for _, uid := range req.UserIDs {
		if item := rejected(r); item != "" && uid == item {
			// Amplitude documents one 400 for a request it refuses, with no list of the
			// ids at fault: the client cannot tell which of its ids was bad.
			amplitudeError(w, http.StatusBadRequest, "user_ids holds an id that cannot be deleted")
			return
		}
		if strings.TrimSpace(uid) == "" || s.unknownAmplitudeUsers[uid] {
			// "With true, the response is a 200 success that includes a list of
			// invalid_ids" (docs/vendors/amplitude.md).
			if ignoreInvalid {
				invalid = append(invalid, uid)
				continue
			}
			amplitudeError(w, http.StatusBadRequest, "user_ids holds an id not found in the project")
			return
		}
		ids = append(ids, amplitudeIDFor(uid))
	}
	if len(ids) == 0 {
		if len(invalid) == 0 {
			amplitudeError(w, http.StatusBadRequest, "no valid ids to delete")
			return
		}
		// Nothing to schedule: the docs do not say what such an answer holds besides
		// invalid_ids, so the simulator joins no batch and names no day.
		writeJSON(w, http.StatusOK, map[string]any{"amplitude_ids": []any{}, "invalid_ids": invalid})
		return
	}

	now := s.now()
	today := now.UTC().Format(dayLayout)
	s.mu.Lock()
	job := s.state.amplitude.openJob(app, now, s.jobDelay)
	for _, id := range ids {
		if !slices.ContainsFunc(job.entries, func(e amplitudeEntry) bool { return e.AmplitudeID == id }) {
			job.entries = append(job.entries, amplitudeEntry{AmplitudeID: id, Requester: req.Requester, RequestedOnDay: today})
		}
	}
	view := job.view(now, s.jobDelay)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		amplitudeJobJSON
		InvalidIDs []any `json:"invalid_ids"`
	}{view, invalid})
}

// openJob returns the project's staging batch, or schedules a new one after the
// project's last, since a batch past staging no longer takes requests.
func (st *amplitudeState) openJob(app int, now time.Time, delay time.Duration) *amplitudeJob {
	day := now.UTC().AddDate(0, 0, amplitudeLeadDays).Format(dayLayout)
	for _, j := range st.jobs {
		if j.app != app {
			continue
		}
		if j.status(now, delay) == "staging" {
			return j
		}
		if last, err := time.Parse(dayLayout, j.day); err == nil && j.day >= day {
			day = last.AddDate(0, 0, 1).Format(dayLayout)
		}
	}
	j := &amplitudeJob{app: app, day: day, created: now}
	st.jobs = append(st.jobs, j)
	return j
}

func (s *Simulator) amplitudeList(w http.ResponseWriter, r *http.Request) {
	app, ok := s.amplitudeApp(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	start, err1 := time.Parse(dayLayout, q.Get("start_day"))
	end, err2 := time.Parse(dayLayout, q.Get("end_day"))
	switch {
	case err1 != nil:
		amplitudeError(w, http.StatusBadRequest, "start_day must be YYYY-MM-DD")
		return
	case err2 != nil:
		amplitudeError(w, http.StatusBadRequest, "end_day must be YYYY-MM-DD")
		return
	case end.Before(start):
		amplitudeError(w, http.StatusBadRequest, "end_day is before start_day")
		return
	case end.After(start.AddDate(0, 6, 0)):
		amplitudeError(w, http.StatusBadRequest, "the range may span at most 6 months")
		return
	}
	from, to := start.Format(dayLayout), end.Format(dayLayout)
	now := s.now()
	out := []amplitudeJobJSON{}
	s.mu.Lock()
	for _, j := range s.state.amplitude.jobs {
		if j.app == app && from <= j.day && j.day <= to {
			v := j.view(now, s.jobDelay)
			// The GET's field table writes the statuses capitalised (Staging, Submitted,
			// Done) where the examples write them lower-case; the simulator answers the
			// listing as the table does, so clients compare without case.
			v.Status = strings.ToUpper(v.Status[:1]) + v.Status[1:]
			out = append(out, v)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b amplitudeJobJSON) int { return cmp.Compare(a.Day, b.Day) })
	writeJSON(w, http.StatusOK, out)
}
