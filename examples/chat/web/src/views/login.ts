// Sign up / log in: one form, two submit buttons. Enter logs in.

import { api, ApiError, describeError, type AuthResponse } from "../api"
import { h } from "../dom"

export function loginView(onAuthed: (auth: AuthResponse) => void): HTMLElement {
  const name = h("input", {
    id: "login-name",
    testid: "login-name",
    name: "name",
    autocomplete: "username",
    required: true,
    maxlength: 64,
  })
  const password = h("input", {
    id: "login-password",
    testid: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  })
  const error = h("p", { class: "form-error", testid: "login-error", role: "alert", hidden: true })
  const nameError = h("span", { class: "field-error", testid: "login-name-error" })
  const passwordError = h("span", { class: "field-error", testid: "login-password-error" })
  const loginBtn = h("button", { type: "submit", value: "login", testid: "login-submit" }, "Log in")
  const signupBtn = h(
    "button",
    { type: "submit", value: "signup", class: "secondary", testid: "signup-submit" },
    "Sign up",
  )

  const showError = (err: unknown) => {
    nameError.textContent = ""
    passwordError.textContent = ""
    let text = describeError(err)
    if (err instanceof ApiError) {
      if (err.code === "invalid_credentials") text = "Wrong name or password."
      else if (err.code === "name_taken") {
        text = "That name is taken."
        nameError.textContent = "taken"
      } else if (err.code === "validation_failed" && err.problem.errors) {
        text = "Please correct the marked fields."
        for (const fe of err.problem.errors) {
          if (fe.field === "name") nameError.textContent = fe.message
          else if (fe.field === "password") passwordError.textContent = fe.message
          else text += ` ${fe.field}: ${fe.message}`
        }
      }
    }
    error.textContent = text
    error.hidden = false
  }

  const form = h(
    "form",
    { class: "login", testid: "login-form", novalidate: true },
    h("h1", {}, "suzaku chat"),
    h("label", { for: "login-name" }, "Name", nameError),
    name,
    h("label", { for: "login-password" }, "Password", passwordError),
    password,
    error,
    h("div", { class: "buttons" }, loginBtn, signupBtn),
    h("p", { class: "hint" }, "New here? Pick a name and a password, then Sign up."),
  )

  let busy = false
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault()
    if (busy) return
    const submitter = (ev as SubmitEvent).submitter as HTMLButtonElement | null
    const mode = submitter?.value === "signup" ? "signup" : "login"
    if (!name.value.trim() || !password.value) {
      showError(new Error("Name and password are required."))
      return
    }
    busy = true
    loginBtn.disabled = signupBtn.disabled = true
    try {
      const auth =
        mode === "signup"
          ? await api.signup(name.value.trim(), password.value)
          : await api.login(name.value.trim(), password.value)
      onAuthed(auth)
    } catch (err) {
      showError(err)
    } finally {
      busy = false
      loginBtn.disabled = signupBtn.disabled = false
    }
  })

  return h("main", { class: "login-page" }, form)
}
