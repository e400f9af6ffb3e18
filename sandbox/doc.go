// Package sandbox runs one command process in a sandbox of its own: new PID, mount and
// (unless the process needs the host's) network namespaces, a fresh /proc, private
// temporary directories, an unprivileged uid and rlimits.
//
// The server side (robot) starts `jobgate sandbox-init` with the namespace clone flags and
// hands it a Spec over a pipe (fd 3); Init, running as PID 1 of the new namespace, sets the
// namespace up, starts the command and reports how it ended as a Status over a second pipe
// (fd 4). Nothing of the server's — argv, environment, open files — reaches the init or the
// command beyond what the Spec names. Killing the init ends every process of the namespace.
package sandbox
