package fanout

import (
	"context"
	"errors"
	"time"
)

// Task states.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
)

// Task is a manual task: a vendor action no API can perform, for a person to carry out.
type Task struct {
	ID           int64
	DeliveryKey  string
	Instance     string
	Action       string
	Tenant       string
	SubjectKey   string
	EventID      string
	RequestID    string
	Owner        string
	Instructions string
	DueAt        time.Time
	Status       string
	CompletedAt  *time.Time
	CompletedBy  string
	Note         string
	CreatedAt    time.Time
}

// ErrNoTask means no manual task has that id.
var ErrNoTask = errors.New("no manual task has that id")

// Tasks is where manual tasks live, as the manual adapter uses them.
type Tasks interface {
	// CreateTask opens t unless a task for the same delivery exists, and returns the id.
	CreateTask(ctx context.Context, t Task) (int64, error)
	// TaskStatus returns a task's status, or ErrNoTask.
	TaskStatus(ctx context.Context, id int64) (string, error)
}
