module github.com/todo-app/todo-app/ci/contract

go 1.25
