// The todo-app Dagger module: build, test, scan, deploy-test and publish.
package main

// Todo is the todo-app pipeline.
type Todo struct{}
