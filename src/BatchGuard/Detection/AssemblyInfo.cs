using System.Runtime.CompilerServices;

// The detection tests and benchmark look at the detector's calibration (TailFactor).
[assembly: InternalsVisibleTo("BatchGuard.Detection.Tests")]
