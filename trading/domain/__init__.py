"""Pure rules over values already loaded: between the engine's maths and the selectors and
services that read and write. Nothing here queries, locks or writes; a rule written here is the
only copy of it, and the preview, the fill, the sweep and the pages all ask it."""
