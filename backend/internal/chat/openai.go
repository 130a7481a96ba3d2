package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// maxModelRounds bounds the model/tool loop of one reply.
const maxModelRounds = 6

// OpenAI answers with any OpenAI-compatible Chat Completions API.
//
// It builds only the Chat Completions service, not openai.Client, which links
// every API service into the binary. With that, and openai-go pinned to
// v3.40.0 (later releases register hundreds more types at init), the server
// binary is 20.6 MB instead of 38 MB, inside the image's 25 MB budget.
type OpenAI struct {
	completions openai.ChatCompletionService
	model       string
	tools       []openai.ChatCompletionToolUnionParam
	now         func() time.Time
}

// OpenAIOptions configures the provider.
type OpenAIOptions struct {
	APIKey  string
	BaseURL string // empty for api.openai.com
	Model   string
}

// NewOpenAI returns a provider; it makes no request until used.
func NewOpenAI(o OpenAIOptions) *OpenAI {
	opts := []option.RequestOption{option.WithAPIKey(o.APIKey), option.WithMaxRetries(2),
		option.WithRequestTimeout(60 * time.Second)}
	if o.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(o.BaseURL))
	}
	tools := make([]openai.ChatCompletionToolUnionParam, len(ToolSpecs))
	for i, t := range ToolSpecs {
		tools[i] = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: t.Name, Description: openai.String(t.Description), Parameters: t.Parameters,
		})
	}
	return &OpenAI{completions: openai.NewChatCompletionService(opts...), model: o.Model, tools: tools, now: time.Now}
}

func (p *OpenAI) systemPrompt() string {
	return "You are the assistant of a to-do app. You manage the user's tasks only through the " +
		"tools add_task, list_tasks, complete_task, delete_task and update_task. When the user names " +
		"a task by title, call list_tasks to find its id; if several tasks match, ask which one instead " +
		"of guessing. Keep answers short and confirm what you changed. Today is " +
		p.now().Format("Monday, 2 January 2006") + "."
}

// Respond runs the model/tool loop until the model answers without tools.
func (p *OpenAI) Respond(ctx context.Context, history []Message, tools *Toolbox, events Events) (string, error) {
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(p.systemPrompt())}
	msgs = append(msgs, replay(history)...)
	for range maxModelRounds {
		msg, err := p.complete(ctx, msgs, events)
		if err != nil {
			return "", err
		}
		if len(msg.ToolCalls) == 0 {
			return msg.Content, nil
		}
		msgs = append(msgs, msg.ToParam())
		for _, tc := range msg.ToolCalls {
			call, err := tools.Call(ctx, tc.Function.Name, json.RawMessage(tc.Function.Arguments))
			if err != nil {
				return "", err
			}
			msgs = append(msgs, openai.ToolMessage(string(call.Result), tc.ID))
		}
	}
	return "I stopped after too many steps. Please try a simpler request.", nil
}

// complete asks for one completion, streaming it through events.
func (p *OpenAI) complete(ctx context.Context, msgs []openai.ChatCompletionMessageParamUnion, events Events) (openai.ChatCompletionMessage, error) {
	params := openai.ChatCompletionNewParams{Model: p.model, Messages: msgs, Tools: p.tools}
	stream := p.completions.NewStreaming(ctx, params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			return openai.ChatCompletionMessage{}, errors.New("openai: inconsistent stream chunk")
		}
		for _, c := range chunk.Choices {
			if c.Delta.Content != "" {
				events.Token(c.Delta.Content)
			}
		}
	}
	if err := stream.Err(); err != nil {
		return openai.ChatCompletionMessage{}, fmt.Errorf("openai: %w", err)
	}
	if len(acc.Choices) == 0 {
		return openai.ChatCompletionMessage{}, errors.New("openai: the model returned no choices")
	}
	return acc.Choices[0].Message, nil
}

// replay turns stored messages back into model messages, tool calls and
// their results included, so the model sees what it did before.
func replay(history []Message) []openai.ChatCompletionMessageParamUnion {
	var out []openai.ChatCompletionMessageParamUnion
	for _, m := range history {
		if m.Role == RoleUser {
			out = append(out, openai.UserMessage(m.Content))
			continue
		}
		if len(m.ToolCalls) > 0 {
			calls := make([]openai.ChatCompletionMessageToolCallUnionParam, len(m.ToolCalls))
			for i, c := range m.ToolCalls {
				calls[i] = openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       fmt.Sprintf("call_%d_%d", m.ID, i),
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: string(c.Arguments)},
				}}
			}
			out = append(out, openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: calls}})
			for i, c := range m.ToolCalls {
				out = append(out, openai.ToolMessage(string(c.Result), fmt.Sprintf("call_%d_%d", m.ID, i)))
			}
		}
		out = append(out, openai.AssistantMessage(m.Content))
	}
	return out
}
