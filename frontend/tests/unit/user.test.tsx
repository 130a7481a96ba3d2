import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { setupUser } from "./user";

// As a test abandoned at its timeout under load: it ends while its typing
// goes on. The next test's field must get its own keystrokes only.
describe("typing never outlives its test", () => {
  it("ends while still typing", () => {
    render(<input aria-label="description" />);
    void setupUser().type(screen.getByLabelText("description"), "2 litres");
  });

  it("gets only its own keystrokes", async () => {
    render(<input aria-label="title" />);
    await setupUser().type(screen.getByLabelText("title"), "added early");
    expect(screen.getByLabelText("title")).toHaveValue("added early");
  });
});
