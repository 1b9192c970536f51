package vendorsim_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

type amplitudeJob struct {
	Day          string `json:"day"`
	Status       string `json:"status"`
	AmplitudeIDs []struct {
		AmplitudeID    int64  `json:"amplitude_id"`
		Requester      string `json:"requester"`
		RequestedOnDay string `json:"requested_on_day"`
	} `json:"amplitude_ids"`
	App int `json:"app"`
}

func basic(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func TestAmplitude(t *testing.T) {
	// The rate limit has its own test; here requests come faster than one a second.
	e := start(t, vendorsim.Options{JobDelay: time.Hour, NoRateLimits: true})
	auth := basic("api-key", "secret-key")
	const path = "/amplitude/api/2/deletions/users"
	today := e.clock.Now().UTC().Format("2006-01-02")
	day := e.clock.Now().UTC().AddDate(0, 0, 10).Format("2006-01-02")
	list := fmt.Sprintf("%s?start_day=%s&end_day=%s", path, today, e.clock.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02"))
	tooMany := `{"user_ids":["u` + strings.Repeat(`","u`, 100) + `"]}` // 101 ids

	var uid1 int64 // amplitude_id derived for user u1
	jobStatus := func(want string, n int) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			jobs := decode[[]amplitudeJob](t, r.body)
			if len(jobs) != n || jobs[0].Status != want {
				t.Errorf("jobs = %s, want %d with the first %s", r.body, n, want)
			}
		}
	}
	run(t, e, []step{
		{name: "no auth", method: "POST", path: path, body: `{"user_ids":["u1"]}`, want: 401, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{"code":401,"error":"Invalid API key or secret key"}`)
		}},
		{name: "empty secret", method: "POST", path: path, body: `{"user_ids":["u1"]}`, header: basic("api-key", ""), want: 401},
		{name: "malformed", method: "POST", path: path, body: `{"user_ids":"u1"}`, header: auth, want: 400},
		{name: "no ids", method: "POST", path: path, body: `{"requester":"dpo@consentry.test"}`, header: auth, want: 400},
		{name: "too many ids", method: "POST", path: path, body: tooMany, header: auth, want: 400},
		{name: "invalid id", method: "POST", path: path, body: `{"amplitude_ids":[0]}`, header: auth, want: 400},
		{name: "create", method: "POST", path: path, header: auth,
			body: `{"amplitude_ids":[123],"user_ids":["u1"],"requester":"dpo@consentry.test","ignore_invalid_id":true}`,
			want: 200, check: func(t *testing.T, r resp) {
				job := decode[amplitudeJob](t, r.body)
				if job.Day != day || job.Status != "staging" || job.App == 0 || len(job.AmplitudeIDs) != 2 {
					t.Fatalf("job = %s, want day %s staging with 2 ids", r.body, day)
				}
				first := job.AmplitudeIDs[0]
				if first.AmplitudeID != 123 || first.Requester != "dpo@consentry.test" || first.RequestedOnDay != today {
					t.Errorf("first entry = %+v", first)
				}
				uid1 = job.AmplitudeIDs[1].AmplitudeID
				if uid1 <= 0 || uid1 == 123 {
					t.Errorf("derived amplitude_id = %d", uid1)
				}
			}},
		{name: "same user joins the batch once", method: "POST", path: path, header: auth, body: `{"user_ids":["u1"]}`,
			advance: time.Minute, want: 200, check: func(t *testing.T, r resp) {
				job := decode[amplitudeJob](t, r.body)
				if job.Day != day || len(job.AmplitudeIDs) != 2 || job.AmplitudeIDs[1].AmplitudeID != uid1 {
					t.Errorf("job = %s, want the same batch with u1 once as %d", r.body, uid1)
				}
			}},
		{name: "staging", method: "GET", path: list, header: auth, want: 200, check: jobStatus("Staging", 1)},
		{name: "submitted", method: "GET", path: list, header: auth, advance: 30 * time.Minute, want: 200, check: jobStatus("Submitted", 1)},
		{name: "done", method: "GET", path: list, header: auth, advance: 30 * time.Minute, want: 200, check: jobStatus("Done", 1)},
		{name: "a closed batch starts the next day", method: "POST", path: path, header: auth, body: `{"user_ids":["u2"]}`,
			want: 200, check: func(t *testing.T, r resp) {
				next := e.clock.Now().UTC().AddDate(0, 0, 11).Format("2006-01-02")
				if job := decode[amplitudeJob](t, r.body); job.Day != next || job.Status != "staging" {
					t.Errorf("job = %s, want staging on %s", r.body, next)
				}
			}},
		{name: "both jobs listed by day", method: "GET", path: list, header: auth, want: 200, check: jobStatus("Done", 2)},
		{name: "other project sees none", method: "GET", path: list, header: basic("other", "s"), want: 200, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `[]`)
		}},
		{name: "range excludes", method: "GET", path: path + "?start_day=2020-01-01&end_day=2020-02-01", header: auth, want: 200,
			check: func(t *testing.T, r resp) { jsonEqual(t, r.body, `[]`) }},
		{name: "missing days", method: "GET", path: path, header: auth, want: 400},
		{name: "bad day", method: "GET", path: path + "?start_day=2026-13-01&end_day=2026-12-01", header: auth, want: 400},
		{name: "end before start", method: "GET", path: path + "?start_day=2026-03-02&end_day=2026-03-01", header: auth, want: 400},
		{name: "over six months", method: "GET", path: path + "?start_day=2026-01-01&end_day=2026-08-01", header: auth, want: 400},
		{name: "list no auth", method: "GET", path: list, want: 401},
	})
}

// TestAmplitudeRateLimit: one request a second per project, POST and GET together; 429
// beyond, in Amplitude's error shape.
func TestAmplitudeRateLimit(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := basic("api-key", "secret-key")
	const path = "/amplitude/api/2/deletions/users"
	day := e.clock.Now().UTC().Format("2006-01-02")
	list := path + "?start_day=" + day + "&end_day=" + day
	run(t, e, []step{
		{name: "first", method: "POST", path: path, body: `{"user_ids":["u1"]}`, header: auth, want: 200},
		{name: "a poll in the same second", method: "GET", path: list, header: auth, advance: 500 * time.Millisecond, want: 429,
			check: func(t *testing.T, r resp) {
				if b := decode[map[string]any](t, r.body); b["code"] != float64(429) || b["error"] == "" {
					t.Errorf("body = %s, want Amplitude's error shape", r.body)
				}
				if r.header.Get("Retry-After") != "" {
					t.Error("Retry-After sent; Amplitude documents none here")
				}
			}},
		{name: "another project is not limited", method: "POST", path: path, body: `{"user_ids":["u1"]}`, header: basic("other", "s"), want: 200},
		{name: "a second later", method: "GET", path: list, header: auth, advance: 500 * time.Millisecond, want: 200},
		{name: "then a deletion again too soon", method: "POST", path: path, body: `{"user_ids":["u2"]}`, header: auth, want: 429},
		{name: "and after a second", method: "POST", path: path, body: `{"user_ids":["u2"]}`, header: auth, advance: time.Second, want: 200},
	})
}

// TestAmplitudeInvalidIDs: with ignore_invalid_id, a user the project never saw comes
// back in invalid_ids; without it, the request is refused.
func TestAmplitudeInvalidIDs(t *testing.T) {
	e := start(t, vendorsim.Options{AmplitudeUnknownUsers: []string{"ghost"}, NoRateLimits: true})
	auth := basic("api-key", "secret-key")
	const path = "/amplitude/api/2/deletions/users"
	run(t, e, []step{
		{name: "refused without ignore_invalid_id", method: "POST", path: path, body: `{"user_ids":["ghost"]}`, header: auth, want: 400},
		{name: "only unknown ids", method: "POST", path: path, body: `{"user_ids":["ghost"],"ignore_invalid_id":true}`, header: auth, want: 200,
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"amplitude_ids":[],"invalid_ids":["ghost"]}`)
			}},
		{name: "known and unknown", method: "POST", path: path, body: `{"user_ids":["u1","ghost"],"ignore_invalid_id":true}`, header: auth, want: 200,
			check: func(t *testing.T, r resp) {
				b := decode[struct {
					amplitudeJob
					InvalidIDs []string `json:"invalid_ids"`
				}](t, r.body)
				if b.Day == "" || len(b.AmplitudeIDs) != 1 || len(b.InvalidIDs) != 1 || b.InvalidIDs[0] != "ghost" {
					t.Errorf("body = %s, want a job with u1 and ghost in invalid_ids", r.body)
				}
			}},
	})
}

// TestAmplitudeRejectsANamedID: the reject fault refuses any request carrying the named
// user id with one 400, as Amplitude documents it, naming no id; a request without it
// goes through.
func TestAmplitudeRejectsANamedID(t *testing.T) {
	e := start(t, vendorsim.Options{NoRateLimits: true})
	e.setFault(t, `{"vendor":"amplitude","mode":"reject","item":"bad"}`)
	auth := basic("api-key", "secret-key")
	const path = "/amplitude/api/2/deletions/users"
	r := e.do(t, "POST", path, `{"user_ids":["u1","bad","u2"],"ignore_invalid_id":true}`, auth...)
	if r.status != 400 || strings.Contains(string(r.body), "bad") {
		t.Errorf("a request with the rejected id: %d %s, want 400 naming no id", r.status, r.body)
	}
	r = e.do(t, "POST", path, `{"user_ids":["u1","u2"],"ignore_invalid_id":true}`, auth...)
	if job := decode[amplitudeJob](t, r.body); r.status != 200 || len(job.AmplitudeIDs) != 2 {
		t.Errorf("a request without it: %d %s, want 200 with both ids scheduled", r.status, r.body)
	}
}
