package vendorsim

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Salesforce Bulk API 2.0 ingest jobs (docs/vendors/salesforce.md): create the job
// (Open), upload CSV to its batches, set state UploadComplete, then the job runs and
// reaches JobComplete (or Failed) after Options.JobDelay; failed rows are read from
// failedResults/. Only hardDelete is served: it is what erasure needs, and it removes
// records for good, Recycle Bin included.

type salesforceJob struct {
	ID, Object, Operation, State string
	csv                          []byte
	uploadedAt                   time.Time
	processed, failed            int
	failures                     []string // "Id,error" rows
}

// SalesforceRecordState tells tests where a record is: "active", "recycle_bin" (REST
// DELETE: restorable) or "erased" (hardDelete).
func (s *Simulator) SalesforceRecordState(object, id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := object + "/" + id
	switch {
	case s.state.salesforce.erased[key]:
		return "erased"
	case s.state.salesforce.deleted[key]:
		return "recycle_bin"
	}
	return "active"
}

func salesforceAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if authToken(r, "Bearer") == "" || !salesforceVersion(r.PathValue("version")) {
		salesforceError(w, http.StatusUnauthorized, "Session expired or invalid")
		return false
	}
	return true
}

func (s *Simulator) salesforceJob(w http.ResponseWriter, r *http.Request) (*salesforceJob, bool) {
	if !salesforceAuthorized(w, r) {
		return nil, false
	}
	s.mu.Lock()
	job := s.state.salesforce.jobs[r.PathValue("job")]
	s.mu.Unlock()
	if job == nil {
		salesforceError(w, http.StatusNotFound, "The requested resource does not exist")
		return nil, false
	}
	return job, true
}

func (s *Simulator) salesforceJobInfo(job *salesforceJob) map[string]any {
	return map[string]any{"id": job.ID, "operation": job.Operation, "object": job.Object, "state": job.State,
		"contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA", "apiVersion": 60.0,
		"jobType": "V2Ingest", "numberRecordsProcessed": job.processed, "numberRecordsFailed": job.failed}
}

// salesforceCreateJob is POST /jobs/ingest.
func (s *Simulator) salesforceCreateJob(w http.ResponseWriter, r *http.Request) {
	if !salesforceAuthorized(w, r) {
		return
	}
	var req struct {
		Object, Operation, ContentType, LineEnding string
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		salesforceErrorCode(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body must be a job definition")
		return
	}
	if req.Operation != "hardDelete" || (req.Object != "Contact" && req.Object != "Lead") || (req.ContentType != "" && req.ContentType != "CSV") {
		salesforceErrorCode(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : only hardDelete of Contact or Lead in CSV is simulated")
		return
	}
	s.mu.Lock()
	s.state.salesforce.jobSeq++
	job := &salesforceJob{ID: fmt.Sprintf("750sim%012d", s.state.salesforce.jobSeq), Object: req.Object, Operation: req.Operation, State: "Open"}
	s.state.salesforce.jobs[job.ID] = job
	info := s.salesforceJobInfo(job)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// salesforceUploadBatch is PUT /jobs/ingest/{job}/batches with a text/csv body: 201.
func (s *Simulator) salesforceUploadBatch(w http.ResponseWriter, r *http.Request) {
	job, ok := s.salesforceJob(w, r)
	if !ok {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		salesforceErrorCode(w, http.StatusBadRequest, "INVALIDJOBSTATE", "Content-Type must be text/csv")
		return
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if job.State != "Open" {
		salesforceErrorCode(w, http.StatusConflict, "INVALIDJOBSTATE", "Job is not open for uploads")
		return
	}
	job.csv = append(job.csv, buf.Bytes()...)
	w.WriteHeader(http.StatusCreated)
}

// salesforceJobState is PATCH /jobs/ingest/{job} with {"state":"UploadComplete"|"Aborted"}.
func (s *Simulator) salesforceJobState(w http.ResponseWriter, r *http.Request) {
	job, ok := s.salesforceJob(w, r)
	if !ok {
		return
	}
	var req struct{ State string }
	if err := decodeJSON(r.Body, &req); err != nil || (req.State != "UploadComplete" && req.State != "Aborted") {
		salesforceErrorCode(w, http.StatusBadRequest, "INVALIDJOBSTATE", "state must be UploadComplete or Aborted")
		return
	}
	s.mu.Lock()
	job.State, job.uploadedAt = req.State, s.now()
	info := s.salesforceJobInfo(job)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// salesforceJobGet is GET /jobs/ingest/{job}: the job runs once JobDelay has passed.
func (s *Simulator) salesforceJobGet(w http.ResponseWriter, r *http.Request) {
	job, ok := s.salesforceJob(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	if job.State == "UploadComplete" && !s.now().Before(job.uploadedAt.Add(s.jobDelay)) {
		s.runJob(job)
	} else if job.State == "UploadComplete" {
		job.State = "InProgress"
	} else if job.State == "InProgress" && !s.now().Before(job.uploadedAt.Add(s.jobDelay)) {
		s.runJob(job)
	}
	info := s.salesforceJobInfo(job)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// runJob erases the uploaded ids, under s.mu. A missing Id header fails the job; an
// id already erased is a failed row, as Salesforce reports ENTITY_IS_DELETED.
func (s *Simulator) runJob(job *salesforceJob) {
	sc := bufio.NewScanner(bytes.NewReader(job.csv))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "Id" {
		job.State = "Failed"
		return
	}
	for sc.Scan() {
		id := strings.Trim(strings.TrimSpace(sc.Text()), `"`)
		if id == "" {
			continue
		}
		job.processed++
		key := job.Object + "/" + id
		if s.state.salesforce.erased[key] {
			job.failed++
			job.failures = append(job.failures, id+",ENTITY_IS_DELETED:entity is deleted:--")
			continue
		}
		delete(s.state.salesforce.deleted, key) // out of the Recycle Bin too
		s.state.salesforce.erased[key] = true
	}
	job.State = "JobComplete"
}

// salesforceFailedResults is GET /jobs/ingest/{job}/failedResults/: CSV with sf__Id,
// sf__Error and the uploaded columns.
func (s *Simulator) salesforceFailedResults(w http.ResponseWriter, r *http.Request) {
	job, ok := s.salesforceJob(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var b strings.Builder
	b.WriteString("\"sf__Id\",\"sf__Error\",Id\n")
	for _, f := range job.failures {
		id, e, _ := strings.Cut(f, ",")
		fmt.Fprintf(&b, "\"%s\",\"%s\",%s\n", id, e, id)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/csv")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}
