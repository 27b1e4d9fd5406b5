"""Starting a simulator in a child process for a test (``SandboxProcess``, ``WolkvoxProcess``) and driving it
over its control API (``SandboxControl``, ``WolkvoxControl``): the test's side, which never serves."""
