"""Code that runs inside the images (probe, knob check): the only part of the package the runtime image
gets. Never imports host/."""
