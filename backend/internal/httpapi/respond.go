package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// statusClientClosedRequest is nginx's code for a request its client abandoned;
// it only shows in logs and metrics.
const statusClientClosedRequest = 499

// errorBody is the shape of every error response.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err) // the client went away
	}
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeJSON(w, status, errorBody{apiError{Code: code, Message: message, RequestID: requestID(r.Context())}})
}

// classify maps an error to a status, code and message a client may see.
func classify(err error) (status int, code, message string) {
	var ve *tasks.ValidationError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		return http.StatusBadRequest, "validation_error", ve.Error()
	case errors.Is(err, tasks.ErrNotFound):
		return http.StatusNotFound, "not_found", "task not found"
	case errors.Is(err, chat.ErrConversationNotFound):
		return http.StatusNotFound, "not_found", "conversation not found"
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "request_too_large", "request body is too large"
	case errors.Is(err, chat.ErrAssistant):
		return http.StatusBadGateway, "assistant_unavailable", "the assistant is unavailable, try again later"
	}
	return http.StatusInternalServerError, "internal", "internal server error"
}

// fail writes err as a JSON error, logging what the client is not told.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away (or timed out): nobody reads this answer, and it is no server error.
		s.log.DebugContext(r.Context(), "client gone", "err", err, "route", r.Pattern)
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	status, code, msg := classify(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "err", err, "route", r.Pattern)
	}
	writeError(w, r, status, code, msg)
}

// decode reads one JSON object into dst, refusing unknown fields and trailing data.
func decode(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return &tasks.ValidationError{Field: "body", Message: "a JSON object is required"}
		}
		return &tasks.ValidationError{Field: "body", Message: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &tasks.ValidationError{Field: "body", Message: "invalid JSON: unexpected data after the object"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &tasks.ValidationError{Field: "body", Message: "invalid JSON: unexpected data after the object"}
	}
	return nil
}
