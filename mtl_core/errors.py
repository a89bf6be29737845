"""The one exception type whose message a user reads (CLI: exit 2, app: st.error)."""


class UserError(Exception):
    """A problem the user can fix: bad config, missing column, unreadable file, ...

    The message is one readable line that names the culprit and says what to do.
    """
