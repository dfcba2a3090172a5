"""Input and output serializers, one module per resource. Inputs check the shape and format of what a
caller sends; outputs render. Rules that need the clock, the gate's settings or other crossings live in
the services; what a forwarder may see lives in clearance.disclosure."""
