package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// PlanStep is one deploy-tool command of a plan: its name in the report and
// todoctl's arguments, without "todoctl".
type PlanStep struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
}

// EncodePlan is the plan `todoctl steps --plan FILE` runs.
func EncodePlan(steps []PlanStep) ([]byte, error) {
	if err := checkPlan(steps); err != nil {
		return nil, err
	}
	return json.MarshalIndent(steps, "", "  ")
}

// DecodePlan reads a plan that EncodePlan wrote.
func DecodePlan(raw []byte) ([]PlanStep, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var steps []PlanStep
	if err := dec.Decode(&steps); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return steps, checkPlan(steps)
}

func checkPlan(steps []PlanStep) error {
	if len(steps) == 0 {
		return errors.New("plan: no steps")
	}
	for _, s := range steps {
		if s.Name == "" || strings.ContainsAny(s.Name, "()\n") {
			return fmt.Errorf("plan: step name %q cannot head a report line", s.Name)
		}
		// A step runs in the deploy tool's process: it is one of its commands,
		// not the tool itself or another plan.
		if len(s.Args) == 0 || s.Args[0] == "todoctl" || s.Args[0] == "steps" {
			return fmt.Errorf("plan: step %q is not a deploy-tool command: %q", s.Name, s.Args)
		}
	}
	return nil
}
