"""The one exception a user should ever see from the pipeline."""


class PipelineError(Exception):
    """A problem with the user's input, files or params, with a one-line message.

    Stage commands print ``error: <message>`` and exit non-zero instead of a
    traceback. Anything else that escapes is a bug in the pipeline itself.
    """
